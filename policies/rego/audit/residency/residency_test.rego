package quartermaster.audit.residency_test

import data.quartermaster.audit.residency

regions := {"aws": {"eu-west-1": {"jurisdiction": "eu"}, "us-east-1": {"jurisdiction": "us"}}}

instance(region, residency) := {"kind": "Instance", "id": "i-1", "cloud": "aws", "region": region, "labels": {"quartermaster.io/residency": residency}, "instance": {"gpuCount": 8}}

test_outside_residency_denied if {
	deny := residency.deny with input.resource as instance("us-east-1", "eu, uk") with data.config.regions as regions
	some f in deny
	f.code == "audit-outside-residency"
	contains(f.msg, `aws/us-east-1 (jurisdiction "us"), outside its residency eu,uk`)
}

test_inside_residency_allowed if {
	count(residency.deny) == 0 with input.resource as instance("eu-west-1", "eu") with data.config.regions as regions
}

test_unknown_region_denied if {
	some f in residency.deny with input.resource as instance("mars-1", "eu") with data.config.regions as regions
	contains(f.msg, `jurisdiction "unknown"`)
}

test_unlabelled_ignored if {
	count(residency.deny) == 0 with input.resource as {"kind": "Disk", "id": "d", "cloud": "aws", "region": "us-east-1", "labels": {}} with data.config.regions as regions
}
