# METADATA
# title: Audit - encryption keys
# description: |
#   Customer-managed keys rotate, and a disabled key is reported: whatever
#   it encrypts cannot be read until it is enabled again. Keys the provider
#   manages are the provider's to rotate.
package quartermaster.audit.keys

deny contains {
	"code": "audit-key-rotation-off",
	"msg": sprintf("customer-managed key %s in %s/%s does not rotate", [input.resource.id, input.resource.cloud, input.resource.region]),
	"severity": "medium",
	"remediation": "turn on automatic key rotation",
} if {
	input.resource.kind == "Key"
	input.resource.key.manager == "customer"
	input.resource.key.state == "enabled"
	input.resource.key.rotationEnabled == false
}

warn contains {
	"code": "audit-key-disabled",
	"msg": sprintf("customer-managed key %s in %s/%s is %s: data encrypted with it cannot be read", [input.resource.id, input.resource.cloud, input.resource.region, input.resource.key.state]),
	"severity": "low",
	"remediation": "enable the key, or re-encrypt what still uses it and schedule its deletion",
} if {
	input.resource.kind == "Key"
	input.resource.key.manager == "customer"
	input.resource.key.state in {"disabled", "pending-deletion"}
}
