//go:build !unix

package policy

import "time"

// processCPU is not measured here; BenchmarkEvaluate then omits cpu-ns/op.
func processCPU() time.Duration { return 0 }
