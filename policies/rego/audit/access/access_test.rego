package quartermaster.audit.access_test

import data.quartermaster.audit.access

bucket(blocked, labels) := {"kind": "Bucket", "id": "s3://b", "cloud": "aws", "labels": labels, "bucket": {"location": "eu-west-1", "publicAccessBlocked": blocked}}

test_public_bucket_denied if {
	some f in access.deny with input.resource as bucket(false, {})
	f.code == "audit-bucket-public"
	f.severity == "high"
	contains(f.msg, "s3://b in aws/eu-west-1")
}

test_public_confidential_bucket_critical if {
	some f in access.deny with input.resource as bucket(false, {"quartermaster.io/data-classification": "confidential"})
	f.severity == "critical"
}

test_blocked_bucket_allowed if {
	count(access.deny) == 0 with input.resource as bucket(true, {})
}
