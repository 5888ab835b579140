# METADATA
# title: Audit - cost attribution
# description: |
#   A GPU instance says who pays for it: a quartermaster.io/team tag or
#   label (or team), as workloads do. Without one its cost cannot be
#   allocated and shows as unattributed in the cost report.
package quartermaster.audit.cost

team_keys := {"quartermaster.io/team", "team"}

warn contains {
	"code": "audit-gpu-unattributed",
	"msg": sprintf("GPU instance %s (%s, %d × %s) in %s/%s has no team tag: its cost cannot be attributed", [input.resource.id, input.resource.instance.instanceType, input.resource.instance.gpuCount, input.resource.instance.gpuModel, input.resource.cloud, input.resource.region]),
	"severity": "medium",
	"remediation": "tag it quartermaster.io/team=<team>",
} if {
	input.resource.kind == "Instance"
	input.resource.instance.gpuCount > 0
	count({k | some k in team_keys; object.get(input.resource, ["labels", k], "") != ""}) == 0
}
