package quartermaster.audit.cost_test

import data.quartermaster.audit.cost

instance(gpus, labels) := {"kind": "Instance", "id": "i-1", "cloud": "gcp", "region": "us-central1", "labels": labels, "instance": {"instanceType": "a3-highgpu-8g", "gpuModel": "H100", "gpuCount": gpus}}

test_untagged_gpu_instance_warned if {
	some f in cost.warn with input.resource as instance(8, {})
	f.code == "audit-gpu-unattributed"
	contains(f.msg, "a3-highgpu-8g, 8 × H100")
}

test_tagged_gpu_instance_allowed if {
	count(cost.warn) == 0 with input.resource as instance(8, {"team": "vision"})
	count(cost.warn) == 0 with input.resource as instance(8, {"quartermaster.io/team": "vision"})
}

test_cpu_instance_ignored if {
	count(cost.warn) == 0 with input.resource as instance(0, {})
}
