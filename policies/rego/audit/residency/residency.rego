# METADATA
# title: Audit - data residency
# description: |
#   A resource labelled with the jurisdictions its data must stay in
#   (quartermaster.io/residency, as the workload annotation) lives in a
#   region of one of them: a GPU instance, disk, snapshot or bucket created
#   outside admission's reach (by hand, by Terraform) is found here. Regions
#   map to jurisdictions through data.config.regions, the table admission
#   and placement use.
package quartermaster.audit.residency

allowed := {trim_space(j) | some j in split(input.resource.labels["quartermaster.io/residency"], ",")}

# jurisdiction is "unknown" for a region the table does not have: outside
# any residency, since nobody can say it is inside.
jurisdiction := object.get(data.config.regions, [input.resource.cloud, input.resource.region, "jurisdiction"], "unknown")

deny contains {
	"code": "audit-outside-residency",
	"msg": msg,
	"severity": "high",
	"remediation": "move the resource (or its data) to a region of an allowed jurisdiction, or correct its residency label",
} if {
	input.resource.labels["quartermaster.io/residency"]
	not jurisdiction in allowed
	msg := sprintf(
		"%s %s is in %s/%s (jurisdiction %q), outside its residency %s",
		[input.resource.kind, input.resource.id, input.resource.cloud, input.resource.region, jurisdiction, concat(",", sort(allowed))],
	)
}
