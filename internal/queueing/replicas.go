package queueing

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxReplicas is the largest replica count sizing answers with. It is the
// largest value of a workload's replica count (spec.replicas is an int32 in
// Kubernetes): a bigger answer is not a count any object can request.
const MaxReplicas = math.MaxInt32

// ErrRateTooLarge is returned when the replica count an SLO needs does not
// fit in MaxReplicas: the answer exists but no Kubernetes object can ask for
// it, so the service must be split.
var ErrRateTooLarge = errors.New("rate too large")

// sizingError is a sizing failure whose message says it all; kind
// (ErrUnstable or ErrRateTooLarge) is for errors.Is, not for the reader.
type sizingError struct {
	msg  string
	kind error
}

func (e *sizingError) Error() string { return e.msg }
func (e *sizingError) Unwrap() error { return e.kind }

// Scan walks the replica counts of one queue upward from the smallest
// stable one, keeping Erlang B current with one step of its recursion per
// count, so that visiting k counts costs O(√a + k) however large the load.
type Scan struct {
	mu, a float64
	c     int
	b     float64 // B(c, a)
}

// NewScan starts at the smallest stable count, ⌊a⌋ + 1, or reports
// ErrRateTooLarge when even that exceeds MaxReplicas.
func NewScan(lambda, mu float64) (*Scan, error) {
	a := lambda / mu
	if !(a < MaxReplicas) {
		return nil, &sizingError{msg: fmt.Sprintf("sizing: rate too large: %g requests/s at %.4g requests/s per replica is an offered load of %.4g replicas, above the %d one workload can ask for",
			lambda, mu, a, MaxReplicas), kind: ErrRateTooLarge}
	}
	c := int(math.Floor(a)) + 1
	return &Scan{mu: mu, a: a, c: c, b: erlangB(c, a)}, nil
}

// Servers is the replica count the scan is at.
func (s *Scan) Servers() int { return s.c }

// Tail is the response-time distribution at the current count.
func (s *Scan) Tail() Tail {
	return newTail(s.mu, s.a, s.c, erlangCFromB(s.c, s.a, s.b))
}

// Next moves to c + 1; it reports false, staying put, past MaxReplicas.
func (s *Scan) Next() bool {
	if s.c >= MaxReplicas {
		return false
	}
	s.c++
	s.b = s.a * s.b / (float64(s.c) + s.a*s.b)
	return true
}

// Replicas is the smallest c with P(T > L) ≤ 1 − quantile. The search
// starts at the offered load (no smaller c is stable) and steps up with
// Erlang B kept current, so it takes O(√a) steps however large the rate.
// It returns ErrUnstable wrapped with the figures when even the service
// time alone misses the SLO (no c can help), and ErrRateTooLarge when the
// answer exceeds MaxReplicas.
func Replicas(lambda, mu, quantile float64, latency time.Duration) (int, error) {
	if !(lambda > 0) || !(mu > 0) || math.IsInf(lambda, 0) || math.IsInf(mu, 0) || !(quantile > 0 && quantile < 1) || latency <= 0 {
		return 0, fmt.Errorf("sizing: rate %v/s, service rate %v/s, quantile %v, latency %v: want finite positive rates, 0 < q < 1 and a positive latency", lambda, mu, quantile, latency)
	}
	L := latency.Seconds()
	// With infinitely many servers T = S: if S alone misses, nothing helps.
	if miss := math.Exp(-mu * L); miss > 1-quantile {
		return 0, &sizingError{msg: fmt.Sprintf("sizing: on this GPU the service time alone misses the p%g SLO of %v, whatever the replica count: "+
			"service times are exponential with mean %v, so P(service > %v) = %.3g%%, above the %.3g%% the SLO allows (service alone has p%g %v)",
			100*quantile, latency, RoundDuration(1/mu), latency, 100*miss, 100*(1-quantile), 100*quantile,
			RoundDuration(-math.Log(1-quantile)/mu)), kind: ErrUnstable}
	}
	s, err := NewScan(lambda, mu)
	if err != nil {
		return 0, err
	}
	for {
		if s.Tail().Exceed(L) <= 1-quantile {
			return s.c, nil
		}
		if !s.Next() {
			return 0, &sizingError{msg: fmt.Sprintf("sizing: rate too large: more than %d replicas needed at %g requests/s", MaxReplicas, lambda), kind: ErrRateTooLarge}
		}
	}
}

// RoundDuration turns seconds into a duration rounded for reading: to the
// millisecond above a second, to the microsecond above a millisecond.
func RoundDuration(sec float64) time.Duration {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}
