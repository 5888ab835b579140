package fleettest

import "sync/atomic"

// Throttle picks the calls a fake answers as throttled: every Every-th call
// it sees, counted across all accounts and services of that fake, so that a
// fleet run has exactly the share 1/Every of its calls throttled whatever
// the order of its goroutines. A retried call is a call like any other: it
// is throttled again when its turn comes. A nil Throttle throttles nothing.
type Throttle struct {
	Every int64

	seen, throttled atomic.Int64
}

// Next counts one call and says whether to throttle it.
func (t *Throttle) Next() bool {
	if t == nil || t.Every <= 0 {
		return false
	}
	if t.seen.Add(1)%t.Every != 0 {
		return false
	}
	t.throttled.Add(1)
	return true
}

// Counts returns the calls seen and those throttled.
func (t *Throttle) Counts() (seen, throttled int64) {
	if t == nil {
		return 0, 0
	}
	return t.seen.Load(), t.throttled.Load()
}
