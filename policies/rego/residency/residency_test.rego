package quartermaster.residency_test

import data.quartermaster.residency

regions := {
	"aws": {"eu-central-1": {"jurisdiction": "eu"}, "us-east-1": {"jurisdiction": "us"}},
	"gcp": {"europe-west4": {"jurisdiction": "eu"}, "us-central1": {"jurisdiction": "us"}},
}

eu_ds := {"location": "s3://corpus-eu/", "known": true, "cloud": "aws", "region": "eu-central-1", "jurisdiction": "eu"}

us_ds := {"location": "s3://corpus-us/", "known": true, "cloud": "aws", "region": "us-east-1", "jurisdiction": "us"}

unknown_ds := {"location": "gs://mystery/", "known": false, "detail": "the inventory does not know gs://mystery/"}

mk(class, res, datasets, pin) := {
	"workload": {"dataClassification": class, "residency": res, "pin": pin},
	"evidence": {"volumes": [], "datasets": datasets},
}

codes(set) := {f.code | some f in set}

test_restricted_without_residency_denied if {
	deny := residency.deny with input as mk("restricted", [], [], {})
	codes(deny) == {"residency-undeclared"}
}

test_restricted_with_residency_allowed if {
	deny := residency.deny with input as mk("restricted", ["eu"], [eu_ds], {}) with data.config.regions as regions
	count(deny) == 0
}

test_internal_without_residency_allowed if {
	deny := residency.deny with input as mk("internal", [], [us_ds, unknown_ds], {})
	count(deny) == 0
	r := residency.restrict with input as mk("internal", [], [], {})
	count(r) == 0
}

test_residency_restricts_jurisdiction if {
	r := residency.restrict with input as mk("internal", ["uk", "eu"], [], {})
	r == {{"field": "jurisdiction", "allowed": ["eu", "uk"], "reason": "data residency eu,uk (quartermaster.io/residency)"}}
}

test_dataset_outside_denied if {
	deny := residency.deny with input as mk("internal", ["eu"], [us_ds, eu_ds], {}) with data.config.regions as regions
	codes(deny) == {"residency-dataset-outside"}
	some f in deny
	contains(f.msg, "s3://corpus-us/")
	contains(f.msg, "\"us\"")
}

test_unknown_dataset_denied_only_for_restricted if {
	deny := residency.deny with input as mk("restricted", ["eu"], [unknown_ds], {})
	codes(deny) == {"residency-dataset-unverified"}
	ok := residency.deny with input as mk("confidential", ["eu"], [unknown_ds], {})
	count(ok) == 0
}

test_pin_outside_denied if {
	deny := residency.deny with input as mk("internal", ["eu"], [], {"regions": ["us-central1"]}) with data.config.regions as regions
	codes(deny) == {"residency-pin-outside"}
	some f in deny
	contains(f.msg, "us-central1 (us)")
}

test_pin_inside_allowed if {
	deny := residency.deny with input as mk("internal", ["eu"], [], {"regions": ["us-central1", "europe-west4"]}) with data.config.regions as regions
	count(deny) == 0
}

test_pin_without_residency_allowed if {
	deny := residency.deny with input as mk("internal", [], [], {"regions": ["us-central1"]}) with data.config.regions as regions
	count(deny) == 0
}

test_region_table_is_the_catalogs if {
	# data.config.regions is injected from costing's table, not written by
	# hand: a few known rows prove it is there.
	data.config.regions.aws["eu-central-1"].jurisdiction == "eu"
	data.config.regions.gcp["us-central1"].jurisdiction == "us"
}
