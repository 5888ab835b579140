# METADATA
# title: Data residency
# description: |
#   Restricted data declares where it may live; a declared residency
#   restricts the placement's jurisdiction, and datasets or pins outside it
#   are denied. Jurisdictions come from data.config.regions, the same table
#   placement uses.
package quartermaster.residency

residency := {j | some j in input.workload.residency}

allowed_text := concat(",", sort(residency))

# Rules test input fields themselves first (count(input.workload.residency)
# rather than count(residency)): a body that names an input field the
# request lacks is skipped by the engine's index without being evaluated.
deny contains {"code": "residency-undeclared", "msg": msg} if {
	input.workload.dataClassification == "restricted"
	count(residency) == 0
	msg := "restricted data must declare where it may live: add the annotation quartermaster.io/residency (e.g. eu, or eu,uk)"
}

restrict contains {"field": "jurisdiction", "allowed": allowed, "reason": reason} if {
	count(input.workload.residency) > 0
	allowed := sort(residency)
	reason := concat("", ["data residency ", concat(",", allowed), " (quartermaster.io/residency)"])
}

deny contains {"code": "residency-dataset-outside", "msg": msg} if {
	count(input.workload.residency) > 0
	some d in input.evidence.datasets
	d.known == true
	not d.jurisdiction in residency
	msg := sprintf(
		"dataset %s lives in %s %s (jurisdiction %q), outside the allowed residency %s",
		[d.location, d.cloud, d.region, d.jurisdiction, allowed_text],
	)
}

deny contains {"code": "residency-dataset-unverified", "msg": msg} if {
	input.workload.dataClassification == "restricted"
	count(input.workload.residency) > 0
	some d in input.evidence.datasets
	not d.known
	msg := sprintf(
		"restricted data: the location of dataset %s cannot be verified against residency %s (%s)",
		[d.location, allowed_text, d.detail],
	)
}

# jurisdictions_by_region is every jurisdiction a region name has in any
# cloud. It reads only data, so the engine computes it once per bundle.
jurisdictions_by_region := {r: js |
	some regions in data.config.regions
	some r, _ in regions
	js := {j | some rs in data.config.regions; j := rs[r].jurisdiction}
}

region_jurisdictions(region) := object.get(jurisdictions_by_region, region, set())

deny contains {"code": "residency-pin-outside", "msg": msg} if {
	count(input.workload.pin.regions) > 0
	count(input.workload.residency) > 0
	inside := {r | some r in input.workload.pin.regions; some j in region_jurisdictions(r); j in residency}
	count(inside) == 0
	found := {sprintf("%s (%s)", [r, concat(",", region_jurisdictions(r))]) | some r in input.workload.pin.regions}
	msg := sprintf(
		"the workload pins region %s but its data must stay in %s: remove the pin or pick a region there",
		[concat(", ", sort(found)), allowed_text],
	)
}
