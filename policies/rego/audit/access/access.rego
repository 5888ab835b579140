# METADATA
# title: Audit - public access
# description: |
#   Buckets block public access: an S3 public access block, Azure's
#   allowBlobPublicAccess off, GCS public access prevention enforced. A
#   bucket labelled as holding confidential or restricted data that does
#   not is critical.
package quartermaster.audit.access

deny contains {
	"code": "audit-bucket-public",
	"msg": msg,
	"severity": severity,
	"remediation": "block public access on the bucket (S3 public access block, allowBlobPublicAccess=false, publicAccessPrevention=enforced)",
} if {
	input.resource.kind == "Bucket"
	input.resource.bucket.publicAccessBlocked == false
	class := object.get(input.resource, ["labels", "quartermaster.io/data-classification"], "")
	severity := {true: "critical", false: "high"}[class in {"confidential", "restricted"}]
	msg := sprintf("bucket %s in %s/%s does not block public access", [input.resource.id, input.resource.cloud, input.resource.bucket.location])
}
