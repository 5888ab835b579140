package workload

import (
	"strings"
	"testing"
)

// TestMessagesShowTheWrittenValue guards issue 17 item 14: an error names
// the value as the manifest wrote it, not a canonicalised or rounded one.
func TestMessagesShowTheWrittenValue(t *testing.T) {
	tests := map[string]struct {
		manifest string
		want     string
		notWant  string
	}{
		"gpu count 1e30 as a number": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: 1e30}}}`, "nvidia.com/gpu 1e+30: want a whole number of devices", "nvidia.com/gpu 1:"},
		"gpu count 1e30 as a string": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: "1e30"}}}`, "nvidia.com/gpu 1e30: want a whole number of devices", "nvidia.com/gpu 1:"},
		"gpu count 1e12 is not shown as 1T": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {requests: {nvidia.com/gpu: "1e12"}, limits: {nvidia.com/gpu: "1e12"}}}`, "nvidia.com/gpu 1e12: want a whole number of devices, at most 1048576", "1T"},
		"fractional gpu as written": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: 0.5}}}`, "nvidia.com/gpu 0.5: want a whole number", "500m"},
		"negative cpu number shown as written": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {requests: {cpu: -1e30}}}`, "requests.cpu: -1e+30: want a non-negative quantity", "1000000000000000019884624838656"},
		"bad cpu string still quoted": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {requests: {cpu: lots}}}`, `requests.cpu: "lots": want a non-negative quantity`, ""},
		"replicas as a string is called a string": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: "2", template: {spec: {containers: []}}}`, `replica count "2" (a string): want a non-negative integer`, "replica count 2:"},
		"replicas too large shows the number": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: 1e10, template: {spec: {containers: []}}}`, "replica count 1e+10: want a non-negative integer (at most 2147483647)", ""},
		"replicas fractional": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: 2.5, template: {spec: {containers: []}}}`, "replica count 2.5:", ""},
	}
	x := mustExtractor(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := x.Extract(decodeYAML(t, tc.manifest), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Fatalf("err = %v, must not contain %q", err, tc.notWant)
			}
		})
	}
}
