//go:build unix

package placement

import (
	"syscall"
	"time"
)

// cpuTime is the user + system time this process has used, so that the
// benchmark can report CPU alongside wall-clock time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
