//go:build !unix

package placement

import "time"

// cpuTime is not measured here; the benchmark then reports zero CPU time.
func cpuTime() time.Duration { return 0 }
