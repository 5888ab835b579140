package quartermaster.encryption_test

import data.quartermaster.encryption

cmk := {"name": "data", "podSet": "Worker", "persistent": true, "state": "encrypted", "keyKind": "customer-managed", "detail": "EBS encrypted with KMS key k"}

pmk := {"name": "data", "podSet": "Worker", "persistent": true, "state": "encrypted", "keyKind": "provider-managed", "detail": "EBS encrypted with the AWS-managed key"}

plain := {"name": "scratch", "podSet": "Worker", "persistent": true, "state": "unencrypted", "detail": "StorageClass gp3 does not set encrypted"}

unknown := {"name": "data", "podSet": "Worker", "persistent": true, "state": "unknown", "detail": "PVC ns/x not found"}

local := {"name": "tmp", "podSet": "Worker", "persistent": false, "nodeLocal": true, "state": "unknown", "detail": "emptyDir"}

enc_ds := {"location": "s3://eu/", "known": true, "state": "encrypted", "keyKind": "provider-managed", "detail": "ok"}

plain_ds := {"location": "s3://open/", "known": true, "state": "unencrypted", "detail": "s3://open/ in aws/us-east-1 is not encrypted"}

mk(class, volumes, datasets) := {
	"workload": {"dataClassification": class},
	"evidence": {"volumes": volumes, "datasets": datasets},
}

codes(set) := {f.code | some f in set}

test_customer_key_allowed if {
	deny := encryption.deny with input as mk("confidential", [cmk, local], [enc_ds])
	count(deny) == 0
}

test_provider_key_denied_for_confidential if {
	deny := encryption.deny with input as mk("confidential", [pmk], [])
	codes(deny) == {"encryption-customer-key-required"}
	some f in deny
	contains(f.msg, "customer-managed key")
	contains(f.msg, "AWS-managed")
}

test_unknown_volume_denied_for_restricted if {
	deny := encryption.deny with input as mk("restricted", [unknown], [])
	codes(deny) == {"encryption-customer-key-required"}
}

test_provider_key_allowed_for_internal if {
	deny := encryption.deny with input as mk("internal", [pmk, unknown], [plain_ds])
	count(deny) == 0
}

test_unencrypted_dataset_denied if {
	deny := encryption.deny with input as mk("restricted", [], [plain_ds, enc_ds])
	codes(deny) == {"encryption-dataset-unencrypted"}
	some f in deny
	contains(f.msg, "s3://open/")
}

test_unclassified_not_sensitive if {
	deny := encryption.deny with input as {"workload": {}, "evidence": {"volumes": [pmk], "datasets": [plain_ds]}}
	count(deny) == 0
}

test_unencrypted_volume_warns if {
	warn := encryption.warn with input as mk("public", [plain, local, pmk], [])
	codes(warn) == {"encryption-volume-unencrypted"}
	count(warn) == 1
}

test_encrypted_volume_no_warning if {
	warn := encryption.warn with input as mk("public", [pmk, cmk, unknown], [])
	count(warn) == 0
}
