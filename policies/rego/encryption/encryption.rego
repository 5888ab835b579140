# METADATA
# title: Encryption
# description: |
#   Data of confidential and restricted workloads is encrypted at rest:
#   persistent volumes with a customer-managed key, datasets at all.
#   Unencrypted persistent volumes of any GPU workload warn.
package quartermaster.encryption

# Confidential and restricted data are sensitive. Each rule tests the input
# itself, not a helper rule: the engine's index then skips the rule for any
# other classification without evaluating it.
customer_managed(v) if {
	v.state == "encrypted"
	v.keyKind == "customer-managed"
}

deny contains {"code": "encryption-customer-key-required", "msg": msg} if {
	input.workload.dataClassification in {"confidential", "restricted"}
	some v in input.evidence.volumes
	v.persistent == true
	not customer_managed(v)
	msg := sprintf(
		"%s data: volume %q of pod set %s must be encrypted with a customer-managed key (found: %s)",
		[input.workload.dataClassification, v.name, v.podSet, v.detail],
	)
}

deny contains {"code": "encryption-dataset-unencrypted", "msg": msg} if {
	input.workload.dataClassification in {"confidential", "restricted"}
	some d in input.evidence.datasets
	d.state != "encrypted"
	msg := sprintf(
		"%s data: dataset %s must be encrypted at rest (found: %s)",
		[input.workload.dataClassification, d.location, d.detail],
	)
}

warn contains {"code": "encryption-volume-unencrypted", "msg": msg} if {
	some v in input.evidence.volumes
	v.persistent == true
	v.state == "unencrypted"
	msg := sprintf("volume %q of pod set %s is not encrypted at rest: %s", [v.name, v.podSet, v.detail])
}
