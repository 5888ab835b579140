package queueing

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnstable is returned when no replica count can keep up: λ ≥ cμ, or
// the service time alone misses the objective.
var ErrUnstable = errors.New("unstable queue")

// MMc is an M/M/c queue: Poisson arrivals at Lambda per second, c servers
// each with exponential service at Mu per second.
type MMc struct {
	Lambda, Mu float64
	C          int
}

// Stable reports whether the queue has a steady state (λ < cμ).
func (q MMc) Stable() bool { return q.Lambda < float64(q.C)*q.Mu }

// Validate refuses a queue without a steady state, naming the figures; the
// error wraps ErrUnstable when the rates are valid but λ ≥ cμ.
func (q MMc) Validate() error {
	if !(q.Lambda > 0) || !(q.Mu > 0) || q.C < 1 || math.IsInf(q.Lambda, 0) || math.IsInf(q.Mu, 0) {
		return fmt.Errorf("M/M/c: λ=%v, μ=%v, c=%d: want finite positive rates and at least one server", q.Lambda, q.Mu, q.C)
	}
	if !q.Stable() {
		return fmt.Errorf("M/M/c: λ=%g/s ≥ cμ=%g/s (%d replicas × %g/s): the queue grows without bound: %w",
			q.Lambda, float64(q.C)*q.Mu, q.C, q.Mu, ErrUnstable)
	}
	return nil
}

// Utilisation is λ/(cμ).
func (q MMc) Utilisation() float64 { return q.Lambda / (float64(q.C) * q.Mu) }

// Exceed is P(T > t) for the response time T = W + S (wait plus service)
// in FCFS steady state; see the package documentation for the formula.
func (q MMc) Exceed(t float64) float64 { return q.Tail().Exceed(t) }

// Quantile is the response time t with P(T ≤ t) = p, by bisection on the
// monotone tail.
func (q MMc) Quantile(p float64) float64 { return q.Tail().Quantile(p) }

// Tail computes Erlang C once, so that the bisections of Quantile and the
// replica search do not repeat the O(√a) recursion for every probe. Call it
// once and ask the Tail several questions.
func (q MMc) Tail() Tail {
	a := q.Lambda / q.Mu
	return newTail(q.Mu, a, q.C, ErlangC(q.C, a))
}

// Tail is the response-time distribution of a stable M/M/c queue with its
// Erlang C already known.
type Tail struct {
	mu, theta, wait float64
}

func newTail(mu, a float64, c int, erlangC float64) Tail {
	// θ = cμ − λ = μ(c − a): c − a first, so that a large load does not
	// cancel two nearly equal rates.
	return Tail{mu: mu, theta: mu * (float64(c) - a), wait: erlangC}
}

// Wait is the probability that a request waits at all: Erlang C.
func (r Tail) Wait() float64 { return r.wait }

// Exceed is P(T > t): the (1−C)·e^{−μt} of requests served at once plus the
// convolution of the exponential wait (rate θ) and service (rate μ) for the
// C that wait; θ = μ has its own limit form.
func (r Tail) Exceed(t float64) float64 {
	if t <= 0 {
		return 1
	}
	mu, theta := r.mu, r.theta
	tail := 0.0
	if math.Abs(theta-mu) < 1e-9*mu {
		tail = (1 + mu*t) * math.Exp(-mu*t)
	} else {
		tail = (theta*math.Exp(-mu*t) - mu*math.Exp(-theta*t)) / (theta - mu)
	}
	return (1-r.wait)*math.Exp(-mu*t) + r.wait*tail
}

// Quantile is the t with P(T ≤ t) = p: it doubles an upper bound from the
// mean service time until the tail is below 1−p, then bisects 100 times,
// far past float64 resolution, and returns the upper end.
func (r Tail) Quantile(p float64) float64 {
	lo, hi := 0.0, 1/r.mu
	for r.Exceed(hi) > 1-p {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if r.Exceed(mid) > 1-p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
