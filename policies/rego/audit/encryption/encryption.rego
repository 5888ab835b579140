# METADATA
# title: Audit - encryption at rest
# description: |
#   Disks, snapshots, volume claims and buckets are encrypted at rest, and
#   those labelled as holding confidential or restricted data are encrypted
#   with a customer-managed key, as admission requires of the volumes of
#   such workloads. Input: input.resource, an inventory record
#   (docs/snapshot.md).
package quartermaster.audit.encryption

# The kind-specific part of each resource kind that carries encryption.
parts := {"Disk": "disk", "Snapshot": "snapshot", "VolumeClaim": "claim", "Bucket": "bucket"}

# Each rule starts with its kinds written out: the auditor skips the
# resources whose kind no rule names without evaluating anything
# (docs/policy-authoring.md, "Audit rules").

# classification is the resource's data classification label or tag.
classification := input.resource.labels["quartermaster.io/data-classification"]

deny contains {
	"code": "audit-unencrypted",
	"msg": msg,
	"severity": severity,
	"remediation": "encrypt it at rest (copy a disk or snapshot to an encrypted one; turn on default encryption for a bucket)",
} if {
	input.resource.kind in {"Disk", "Snapshot", "VolumeClaim", "Bucket"}
	part := parts[input.resource.kind]
	input.resource[part].encryption.encrypted == false
	severity := sensitive_severity("high")
	msg := sprintf("%s %s in %s/%s is not encrypted at rest", [input.resource.kind, input.resource.id, input.resource.cloud, input.resource.region])
}

deny contains {
	"code": "audit-confidential-provider-key",
	"msg": msg,
	"severity": "high",
	"remediation": "re-encrypt with a customer-managed key (KMS key, disk encryption set, Cloud KMS key)",
} if {
	input.resource.kind in {"Disk", "Snapshot", "VolumeClaim", "Bucket"}
	classification in {"confidential", "restricted"}
	part := parts[input.resource.kind]
	input.resource[part].encryption.encrypted == true
	input.resource[part].encryption.keyKind != "customer-managed"
	msg := sprintf(
		"%s %s holds %s data but is encrypted with a provider-managed key only",
		[input.resource.kind, input.resource.id, classification],
	)
}

# sensitive_severity raises a finding on confidential or restricted data to
# critical.
sensitive_severity(base) := "critical" if {
	classification in {"confidential", "restricted"}
} else := base
