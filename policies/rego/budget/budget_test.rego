package quartermaster.budget_test

import data.quartermaster.budget

teams := {"research": {"budget": {"maxPricePerHour": 100, "maxEstimatedCost": 1000}}}

placed(price, cost) := {
	"workload": {"team": "research"},
	"placement": {
		"cloud": "aws", "region": "us-east-1", "instanceType": "p5.48xlarge", "capacityType": "on-demand",
		"nodes": 2, "pricePerHour": price, "estimatedHours": 10, "estimatedCost": cost,
	},
}

run(doc) := r if {
	r := {"deny": budget.deny, "warn": budget.warn} with input as doc
		with data.config.teams as teams
		with data.config.thresholds.budgetWarnFraction as 0.8
}

codes(set) := {f.code | some f in set}

test_within_budget if {
	r := run(placed(50, 500))
	count(r.deny) == 0
	count(r.warn) == 0
}

test_no_team_no_budget if {
	r := run({"workload": {}, "placement": placed(500, 50000).placement})
	count(r.deny) == 0
	count(r.warn) == 0
}

test_price_over_cap_denied if {
	r := run(placed(120, 500))
	codes(r.deny) == {"budget-price-per-hour"}
	some f in r.deny
	contains(f.msg, "$120.00/h")
	contains(f.msg, "2 × p5.48xlarge in aws us-east-1")
}

test_price_near_cap_warns if {
	r := run(placed(90, 500))
	count(r.deny) == 0
	codes(r.warn) == {"budget-price-per-hour"}
	some f in r.warn
	contains(f.msg, "90%")
}

test_cost_over_cap_denied if {
	r := run(placed(50, 1500.456))
	codes(r.deny) == {"budget-estimated-cost"}
	some f in r.deny
	contains(f.msg, "$1500.46 (2 × p5.48xlarge")
	contains(f.msg, "cap of $1000.00 per")
}

test_cost_near_cap_warns if {
	r := run(placed(50, 900))
	codes(r.warn) == {"budget-estimated-cost"}
}

test_team_without_budget_unconstrained if {
	r := run(object.union(placed(5000, 500000), {"workload": {"team": "nobody"}}))
	count(r.deny) == 0
	count(r.warn) == 0
}
