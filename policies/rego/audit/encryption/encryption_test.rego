package quartermaster.audit.encryption_test

import data.quartermaster.audit.encryption

res(kind, part, enc, labels) := {"kind": kind, "id": "x", "cloud": "aws", "region": "eu-west-1", "labels": labels, part: {"encryption": enc}}

plain := {"encrypted": false}

provider := {"encrypted": true, "keyKind": "provider-managed"}

customer := {"encrypted": true, "keyKind": "customer-managed", "keyId": "arn:aws:kms:eu-west-1:1:key/k"}

codes(set) := {f.code | some f in set}

test_unencrypted_disk_denied if {
	deny := encryption.deny with input.resource as res("Disk", "disk", plain, {})
	codes(deny) == {"audit-unencrypted"}
	some f in deny
	f.severity == "high"
	contains(f.msg, "Disk x in aws/eu-west-1 is not encrypted")
}

test_unencrypted_confidential_bucket_critical if {
	deny := encryption.deny with input.resource as res("Bucket", "bucket", plain, {"quartermaster.io/data-classification": "restricted"})
	some f in deny
	f.code == "audit-unencrypted"
	f.severity == "critical"
}

test_provider_key_on_confidential_snapshot_denied if {
	deny := encryption.deny with input.resource as res("Snapshot", "snapshot", provider, {"quartermaster.io/data-classification": "confidential"})
	codes(deny) == {"audit-confidential-provider-key"}
}

test_provider_key_on_internal_data_allowed if {
	count(encryption.deny) == 0 with input.resource as res("VolumeClaim", "claim", provider, {"quartermaster.io/data-classification": "internal"})
}

test_customer_key_on_confidential_allowed if {
	count(encryption.deny) == 0 with input.resource as res("Disk", "disk", customer, {"quartermaster.io/data-classification": "restricted"})
}

test_other_kinds_ignored if {
	count(encryption.deny) == 0 with input.resource as {"kind": "Instance", "id": "i", "instance": {"state": "running"}}
}
