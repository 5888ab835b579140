# METADATA
# title: Access
# description: |
#   Who may run what: known teams, allowed registries, no host access or
#   privileged containers, no default service account, per-team GPU models
#   and sizes, and large on-demand top-tier requests only from allowed groups.
package quartermaster.access

default team := ""

team := input.workload.team

deny contains {"code": "access-unknown-team", "msg": msg} if {
	not data.config.teams[team]
	msg := unknown_team_msg
}

unknown_team_msg := "the workload names no team: add the annotation quartermaster.io/team or label the namespace" if team == ""

else := sprintf("team %q is not known: known teams are %s", [team, concat(", ", sort(object.keys(data.config.teams)))])

# qualified turns an image reference into registry/path form. The first
# path segment names a registry when it holds a "." or a ":" or is
# localhost; one regex.match does what a split and a helper per test would.
qualified(image) := image if regex.match(`^([^/]*[.:][^/]*|localhost)/`, image)

else := concat("", ["docker.io/", image]) if contains(image, "/")

else := concat("", ["docker.io/library/", image])

deny contains {"code": "access-registry", "msg": msg} if {
	some ps in input.workload.podSets
	some image in ps.images
	full := qualified(image)
	not strings.any_prefix_match(full, data.config.registries.allowed)
	msg := sprintf(
		"image %s of pod set %s is not from an allowed registry (%s)",
		[image, ps.name, concat(", ", data.config.registries.allowed)],
	)
}

deny contains {"code": "access-privileged", "msg": msg} if {
	some ps in input.workload.podSets
	ps.privileged == true
	msg := sprintf("pod set %s runs a privileged container: GPU workloads may not", [ps.name])
}

deny contains {"code": "access-host-network", "msg": msg} if {
	some ps in input.workload.podSets
	ps.hostNetwork == true
	msg := sprintf("pod set %s uses hostNetwork: GPU workloads may not", [ps.name])
}

deny contains {"code": "access-host-pid", "msg": msg} if {
	some ps in input.workload.podSets
	ps.hostPID == true
	msg := sprintf("pod set %s uses hostPID: GPU workloads may not", [ps.name])
}

deny contains {"code": "access-host-path", "msg": msg} if {
	some ps in input.workload.podSets
	some v in ps.volumes
	v.kind == "hostPath"
	msg := sprintf("pod set %s mounts hostPath volume %q: GPU workloads may not", [ps.name, v.name])
}

deny contains {"code": "access-default-service-account", "msg": msg} if {
	some ps in input.workload.podSets
	ps.serviceAccount in {"", "default"}
	msg := sprintf("pod set %s runs as the default service account: set serviceAccountName to the workload's own", [ps.name])
}

# Tables keyed by team read only data, so the engine evaluates them once per
# bundle, at load: a request pays for one lookup (see "Writing fast rules").
models_by_team := {t: {m | some m in cfg.gpuModels} | some t, cfg in data.config.teams}

model_restriction := {t: {"field": "gpuModel", "allowed": sort(models), "reason": reason} |
	some t, models in models_by_team
	count(models) > 0
	reason := sprintf("team %s may use GPU models %s", [t, concat(",", sort(models))])
}

default team_models := set()

team_models := models_by_team[team]

restrict contains model_restriction[team]

deny contains {"code": "access-gpu-model", "msg": msg} if {
	count(input.workload.gpuModels) > 0
	models := models_by_team[team]
	count(models) > 0
	count({m | some m in input.workload.gpuModels; m in models}) == 0
	msg := sprintf(
		"team %s may not use GPU model %s (allowed: %s)",
		[team, concat(",", input.workload.gpuModels), concat(",", sort(models))],
	)
}

deny contains {"code": "access-max-gpus", "msg": msg} if {
	input.workload.totalGPUs > data.config.teams[team].maxGPUs
	msg := sprintf(
		"the workload asks for %v GPUs; team %s may use at most %v per workload",
		[input.workload.totalGPUs, team, data.config.teams[team].maxGPUs],
	)
}

top_tier := {m | some m in data.config.thresholds.topTierGPUs}

authorised if {
	some g in input.request.groups
	g in data.config.thresholds.topTierGroups
}

# candidate_models are the models the workload could land on.
candidate_models := {m | some m in input.workload.gpuModels} if count(input.workload.gpuModels) > 0

else := team_models

below_top := candidate_models - top_tier

large_msg := sprintf(
	"%v on-demand GPUs of top-tier models (%s) need membership of %s",
	[input.workload.totalGPUs, concat(",", sort(top_tier)), concat(" or ", data.config.thresholds.topTierGroups)],
)

deny contains {"code": "access-top-tier-group", "msg": msg} if {
	# A large on-demand request: many GPUs, and spot capacity not acceptable.
	input.workload.totalGPUs >= data.config.thresholds.largeRequestGPUs
	not input.workload.interruptible
	not authorised
	count(below_top) == 0
	msg := sprintf("%s: ask for other models, mark the workload interruptible, or ask a member to submit it", [large_msg])
}

restrict contains {"field": "gpuModel", "allowed": sort(below_top), "reason": large_msg} if {
	# A large on-demand request: many GPUs, and spot capacity not acceptable.
	input.workload.totalGPUs >= data.config.thresholds.largeRequestGPUs
	not input.workload.interruptible
	not authorised
	count(below_top) > 0
}
