# METADATA
# title: Budget
# description: |
#   Per-team caps on the gang's price per hour and on its estimated cost.
#   These rules read input.placement, so the engine evaluates them after
#   placement has chosen the cheapest compliant offer: a denial here means no
#   compliant placement fits the budget. Warn above a fraction of a cap.
package quartermaster.budget

default team := ""

team := input.workload.team

budget := data.config.teams[team].budget

# The warning thresholds per team read only data, so the engine evaluates
# them once per bundle, at load, rather than multiply on every request.
price_warn_at := {t: warn_at |
	some t, cfg in data.config.teams
	warn_at := data.config.thresholds.budgetWarnFraction * cfg.budget.maxPricePerHour
}

cost_warn_at := {t: warn_at |
	some t, cfg in data.config.teams
	warn_at := data.config.thresholds.budgetWarnFraction * cfg.budget.maxEstimatedCost
}

# usd formats an amount as dollars and cents; sprintf's %.2f would not
# accept the integral numbers Rego keeps whole amounts as.
usd(x) := sprintf("$%d.%02d", [floor(cents / 100), cents % 100]) if cents := round(x * 100)

percent(x, cap) := round((100 * x) / cap)

where := sprintf(
	"%d × %s in %s %s (%s)",
	[input.placement.nodes, input.placement.instanceType, input.placement.cloud, input.placement.region, input.placement.capacityType],
)

deny contains {"code": "budget-price-per-hour", "msg": msg} if {
	input.placement.pricePerHour > budget.maxPricePerHour
	msg := sprintf(
		"the cheapest compliant placement, %s, costs %s/h: over team %s's cap of %s/h",
		[where, usd(input.placement.pricePerHour), team, usd(budget.maxPricePerHour)],
	)
}

warn contains {"code": "budget-price-per-hour", "msg": msg} if {
	input.placement.pricePerHour <= budget.maxPricePerHour
	input.placement.pricePerHour > price_warn_at[team]
	msg := sprintf(
		"%s costs %s/h: %d%% of team %s's cap of %s/h",
		[where, usd(input.placement.pricePerHour), percent(input.placement.pricePerHour, budget.maxPricePerHour), team, usd(budget.maxPricePerHour)],
	)
}

deny contains {"code": "budget-estimated-cost", "msg": msg} if {
	input.placement.estimatedCost > budget.maxEstimatedCost
	msg := sprintf(
		"estimated cost %s (%s for %v h) is over team %s's cap of %s per workload",
		[usd(input.placement.estimatedCost), where, input.placement.estimatedHours, team, usd(budget.maxEstimatedCost)],
	)
}

warn contains {"code": "budget-estimated-cost", "msg": msg} if {
	input.placement.estimatedCost <= budget.maxEstimatedCost
	input.placement.estimatedCost > cost_warn_at[team]
	msg := sprintf(
		"estimated cost %s is %d%% of team %s's cap of %s per workload",
		[usd(input.placement.estimatedCost), percent(input.placement.estimatedCost, budget.maxEstimatedCost), team, usd(budget.maxEstimatedCost)],
	)
}
