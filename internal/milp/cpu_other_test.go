//go:build !unix

package milp

import "time"

// cpuTime is not measured here; the benchmark then reports zero CPU time.
func cpuTime() time.Duration { return 0 }
