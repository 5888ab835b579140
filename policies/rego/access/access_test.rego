package quartermaster.access_test

import data.quartermaster.access

teams := {"research": {"gpuModels": ["H100", "A100", "L4"], "maxGPUs": 64}, "open": {"maxGPUs": 8}}

thresholds := {"topTierGPUs": ["H100", "H200"], "largeRequestGPUs": 16, "topTierGroups": ["ml-platform"]}

registries := {"allowed": ["ghcr.io/example/", "docker.io/library/", "docker.io/rayproject/", "localhost/", "registry:5000/"]}

pod(overrides) := object.union(
	{
		"name": "Worker", "replicas": 1, "gpusPerReplica": 1, "images": ["ghcr.io/example/train:1"],
		"serviceAccount": "trainer", "privileged": false, "hostNetwork": false, "hostPID": false, "volumes": [],
	},
	overrides,
)

wl(overrides) := object.union(
	{
		"team": "research", "gpuModels": ["A100"], "totalGPUs": 8, "interruptible": false,
		"podSets": [pod({})],
	},
	overrides,
)

run(w) := r if {
	r := {
		"deny": access.deny,
		"restrict": access.restrict,
	} with input as {"workload": w, "request": {"groups": ["dev"]}}
		with data.config.teams as teams
		with data.config.thresholds as thresholds
		with data.config.registries as registries
}

codes(set) := {f.code | some f in set}

test_clean_workload_allowed if {
	r := run(wl({}))
	count(r.deny) == 0
	r.restrict == {{"field": "gpuModel", "allowed": ["A100", "H100", "L4"], "reason": "team research may use GPU models A100,H100,L4"}}
}

test_unknown_team_denied if {
	r := run(wl({"team": "marketing"}))
	codes(r.deny) == {"access-unknown-team"}
	some f in r.deny
	contains(f.msg, "open, research")
}

test_missing_team_denied if {
	r := run(wl({"team": ""}))
	codes(r.deny) == {"access-unknown-team"}
	some f in r.deny
	contains(f.msg, "quartermaster.io/team")
}

test_absent_team_denied if {
	r := run(object.remove(wl({}), ["team"]))
	codes(r.deny) == {"access-unknown-team"}
	some f in r.deny
	contains(f.msg, "quartermaster.io/team")
}

test_registries if {
	allowed := ["ghcr.io/example/x:1", "busybox", "rayproject/ray:2", "localhost/x", "registry:5000/y"]
	every image in allowed {
		count(run(wl({"podSets": [pod({"images": [image]})]})).deny) == 0
	}
	denied := ["quay.io/evil/x", "evil/x", "ghcr.io/other/x"]
	every image in denied {
		codes(run(wl({"podSets": [pod({"images": [image]})]})).deny) == {"access-registry"}
	}
}

test_host_access_denied if {
	codes(run(wl({"podSets": [pod({"privileged": true})]})).deny) == {"access-privileged"}
	codes(run(wl({"podSets": [pod({"hostNetwork": true})]})).deny) == {"access-host-network"}
	codes(run(wl({"podSets": [pod({"hostPID": true})]})).deny) == {"access-host-pid"}
	codes(run(wl({"podSets": [pod({"volumes": [{"name": "dev", "kind": "hostPath"}, {"name": "x", "kind": "emptyDir"}]})]})).deny) == {"access-host-path"}
}

test_default_service_account_denied if {
	codes(run(wl({"podSets": [pod({"serviceAccount": ""})]})).deny) == {"access-default-service-account"}
	codes(run(wl({"podSets": [pod({"serviceAccount": "default"})]})).deny) == {"access-default-service-account"}
}

test_gpu_model_not_allowed if {
	r := run(wl({"gpuModels": ["T4"]}))
	codes(r.deny) == {"access-gpu-model"}
}

test_gpu_model_partly_allowed if {
	r := run(wl({"gpuModels": ["T4", "L4"]}))
	count(r.deny) == 0
}

test_team_without_models_unrestricted if {
	r := run(wl({"team": "open", "gpuModels": ["T4"]}))
	count(r.deny) == 0
	count(r.restrict) == 0
}

test_max_gpus if {
	codes(run(wl({"team": "open", "totalGPUs": 9, "gpuModels": []})).deny) == {"access-max-gpus"}
	count(run(wl({"team": "open", "totalGPUs": 8})).deny) == 0
}

test_large_top_tier_denied_without_group if {
	r := run(wl({"gpuModels": ["H100", "H200"], "totalGPUs": 32}))
	codes(r.deny) == {"access-top-tier-group"}
	some f in r.deny
	contains(f.msg, "ml-platform")
}

test_large_top_tier_allowed_for_group if {
	r := {"deny": access.deny, "restrict": access.restrict} with input as {
		"workload": wl({"gpuModels": ["H100"], "totalGPUs": 32}),
		"request": {"groups": ["ml-platform"]},
	}
		with data.config.teams as teams
		with data.config.thresholds as thresholds
		with data.config.registries as registries
	count(r.deny) == 0
	count(r.restrict) == 1
}

test_large_mixed_request_restricted_below_top_tier if {
	r := run(wl({"gpuModels": ["H100", "A100"], "totalGPUs": 32}))
	count(r.deny) == 0
	{"field": "gpuModel", "allowed": ["A100"], "reason": "32 on-demand GPUs of top-tier models (H100,H200) need membership of ml-platform"} in r.restrict
}

test_large_any_model_unknown_team_denied if {
	r := run(wl({"team": "marketing", "gpuModels": [], "totalGPUs": 32}))
	codes(r.deny) == {"access-unknown-team", "access-top-tier-group"}
}

test_large_any_model_uses_team_models if {
	r := run(wl({"gpuModels": [], "totalGPUs": 32}))
	count(r.deny) == 0
	some x in r.restrict
	x.allowed == ["A100", "L4"]
}

test_large_interruptible_or_small_unrestricted if {
	count(run(wl({"gpuModels": ["H100"], "totalGPUs": 32, "interruptible": true})).deny) == 0
	count(run(wl({"gpuModels": ["H100"], "totalGPUs": 8})).deny) == 0
}
