package queueing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// This file checks Erlang C and the response-time tail against a
// discrete-event simulation of the queue they describe. The simulation
// shares no code and no formula with the package: it draws exponential
// inter-arrival and service times, keeps the departure times of the
// requests in service in a heap and the arrival times of the waiting ones
// in a FIFO line, and records each request's wait and response time when it
// starts service. Whatever the package gets wrong about the M/M/c queue,
// the simulation does not repeat.

// simulation is what one run measured, after the warm-up.
type simulation struct {
	wait, resp []float64 // per request, in order of service start (FCFS)
}

// simulateMMc runs an FCFS queue with c servers, Poisson arrivals at lambda
// and exponential service at mu, from empty, until warm + n requests have
// started service, and keeps the last n.
func simulateMMc(lambda, mu float64, c, warm, n int, seed uint64) simulation {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	sim := simulation{wait: make([]float64, 0, n), resp: make([]float64, 0, n)}
	var (
		now     float64
		arrival = rng.ExpFloat64() / lambda // next arrival
		busy    int                         // servers in use
		line    []float64                   // arrival times of waiting requests
		head    int                         // first waiting request in line
		deps    departures                  // end times of requests in service
		started int
	)
	// start puts the request that arrived at arrived into service now.
	start := func(arrived float64) {
		s := rng.ExpFloat64() / mu
		deps.push(now + s)
		if started >= warm {
			sim.wait = append(sim.wait, now-arrived)
			sim.resp = append(sim.resp, now-arrived+s)
		}
		started++
	}
	for started < warm+n {
		if len(deps) == 0 || arrival < deps[0] {
			now = arrival
			arrival += rng.ExpFloat64() / lambda
			if busy < c {
				busy++
				start(now)
			} else {
				line = append(line, now)
			}
			continue
		}
		now = deps.pop()
		if head < len(line) { // the freed server takes the longest waiting
			head++
			start(line[head-1])
		} else {
			busy--
		}
	}
	return sim
}

// departures is a binary min-heap of departure times.
type departures []float64

func (h *departures) push(t float64) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *departures) pop() float64 {
	s := *h
	top := s[0]
	s[0] = s[len(s)-1]
	s = s[:len(s)-1]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s) && s[l] < s[m] {
			m = l
		}
		if l+1 < len(s) && s[l+1] < s[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// estimate is a simulated mean with its standard error.
type estimate struct{ mean, se float64 }

// batchMeans estimates the mean of f over n consecutive requests and its
// standard error. Successive requests of a queue are correlated (a long
// wait is followed by long waits), so the spread of single requests
// understates the error: the run is cut into batches much longer than the
// queue's relaxation time, whose means are nearly independent, and the
// error is their standard deviation over √batches. It is floored by the
// independent-samples error, which positive correlation can only raise.
func batchMeans(n, batches int, f func(i int) float64) estimate {
	size := n / batches
	var sum, sumSq, bSum, bSumSq float64
	for b := range batches {
		var m float64
		for i := b * size; i < (b+1)*size; i++ {
			x := f(i)
			m += x
			sumSq += x * x
		}
		sum += m
		m /= float64(size)
		bSum += m
		bSumSq += m * m
	}
	total := float64(batches * size)
	mean := sum / total
	bMean := bSum / float64(batches)
	seBatch := math.Sqrt(math.Max(bSumSq/float64(batches)-bMean*bMean, 0) * float64(batches) / float64(batches-1) / float64(batches))
	seIID := math.Sqrt(math.Max(sumSq/total-mean*mean, 0) / total)
	return estimate{mean, math.Max(seBatch, seIID)}
}

// prediction is what a model of the queue says about it.
type prediction struct {
	wait     float64               // P(W > 0)
	meanWait float64               // E[W], seconds
	exceed   func(float64) float64 // P(T > t)
}

// simSigmas is the tolerance in standard errors. With 40 batches the
// studentised error has about 39 degrees of freedom, for which
// P(|t| > 5) ≈ 1.3·10⁻⁵; over the 30 comparisons below a correct formula
// fails with probability about 4·10⁻⁴ for a fresh seed (and never for the
// fixed seeds here), while the wrong formulas miss by ten to hundreds of
// standard errors.
const (
	simSigmas  = 5
	simBatches = 40
)

// simCase is one queue to simulate, with n requests measured after a
// warm-up of n/10 from empty. n is tens of relaxation times of the queue
// per batch; near saturation the relaxation time grows as 1/(1−√ρ)², so
// the 96% case needs several times the others. All six take about
// three seconds under -race.
type simCase struct {
	name       string
	lambda, mu float64
	c, n       int
}

var simCases = []simCase{
	{"M/M/1 at 70%", 0.7, 1, 1, 300_000},
	{"5 servers at 96% (40/s at 120ms)", 40, 1 / 0.12, 5, 2_000_000},
	{"θ = μ: 3 servers, λ=10, μ=5", 10, 5, 3, 300_000},
	{"20 servers at 90%", 90, 5, 20, 300_000},
	{"8 servers at 50%", 4, 1, 8, 300_000},
	{"128 servers at 94% (warm-started Erlang B)", 120, 1, 128, 300_000},
}

// compare checks a prediction against a run, returning the comparisons that
// miss by more than simSigmas standard errors. The quantiles are compared
// through the tail: at the predicted p-quantile t_p the simulated fraction
// of requests with T > t_p must be 1−p within its error; by the Bahadur
// representation the empirical quantile is then t_p within that error over
// the density, which is the test of the quantile itself without a density
// estimate.
func compare(t *testing.T, sim simulation, want prediction, quantiles []float64, log bool) []string {
	t.Helper()
	n := len(sim.wait)
	var misses []string
	check := func(what string, got estimate, want float64) {
		z := (got.mean - want) / got.se
		if log {
			t.Logf("%-14s simulated %.5f ± %.5f, model %.5f (%+.1fσ)", what, got.mean, got.se, want, z)
		}
		if math.Abs(z) > simSigmas {
			misses = append(misses, fmt.Sprintf("%s: simulated %.5f ± %.5f, model %.5f (%+.1fσ)", what, got.mean, got.se, want, z))
		}
	}
	check("P(wait)", batchMeans(n, simBatches, func(i int) float64 { return indicator(sim.wait[i] > 0) }), want.wait)
	check("mean wait (s)", batchMeans(n, simBatches, func(i int) float64 { return sim.wait[i] }), want.meanWait)
	for _, p := range quantiles {
		tp := quantileOf(want.exceed, p)
		check(fmt.Sprintf("P(T > p%g)", 100*p), batchMeans(n, simBatches, func(i int) float64 { return indicator(sim.resp[i] > tp) }), 1-p)
	}
	return misses
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// quantileOf bisects a tail function on its own, so that the wrong models
// below are compared at their own quantiles.
func quantileOf(exceed func(float64) float64, p float64) float64 {
	lo, hi := 0.0, 1.0
	for exceed(hi) > 1-p {
		hi *= 2
	}
	for range 200 {
		if mid := (lo + hi) / 2; exceed(mid) > 1-p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// mmcModel is the package's prediction.
func mmcModel(q MMc) prediction {
	tail := q.Tail()
	theta := float64(q.C)*q.Mu - q.Lambda
	return prediction{wait: tail.Wait(), meanWait: tail.Wait() / theta, exceed: tail.Exceed}
}

var simQuantiles = []float64{0.5, 0.9, 0.99}

// wrongModels are two classic mistakes, to show that the tolerance has
// teeth: the same simulation and tolerance must reject them wherever they
// differ from the truth.
//   - One fast server, M/M/1 at rate cμ: P(wait) = ρ, E[W] = ρ/θ, and T
//     exponential with rate θ. At c = 1 it is M/M/c, so it is not tried.
//   - Erlang B in place of C: the blocking probability of a loss system,
//     not the waiting probability of a queue.
var wrongModels = map[string]func(q MMc) prediction{
	"M/M/1 at cμ": func(q MMc) prediction {
		theta := float64(q.C)*q.Mu - q.Lambda
		rho := q.Utilisation()
		return prediction{wait: rho, meanWait: rho / theta, exceed: func(t float64) float64 { return math.Exp(-theta * t) }}
	},
	"Erlang B for C": func(q MMc) prediction {
		a := q.Lambda / q.Mu
		b := erlangBFull(q.C, a)
		tail := newTail(q.Mu, a, q.C, b)
		return prediction{wait: b, meanWait: b / tail.theta, exceed: tail.Exceed}
	},
}

// TestSimulation: Erlang C, the mean wait C/θ and the p50, p90 and p99 of
// the response time agree with the simulation, and the wrong models do not.
func TestSimulation(t *testing.T) {
	start := time.Now()
	for i, tc := range simCases {
		sim := simulateMMc(tc.lambda, tc.mu, tc.c, tc.n/10, tc.n, uint64(i+1))
		q := MMc{Lambda: tc.lambda, Mu: tc.mu, C: tc.c}
		t.Run(tc.name, func(t *testing.T) {
			t.Run("model agrees", func(t *testing.T) {
				for _, miss := range compare(t, sim, mmcModel(q), simQuantiles, true) {
					t.Error(miss)
				}
				if !testing.Verbose() { // sorting 2M figures under -race takes a second and a half
					return
				}
				sorted := slices.Sorted(slices.Values(sim.resp))
				for _, p := range simQuantiles {
					emp := sorted[int(p*float64(len(sorted)))]
					t.Logf("p%-4g          simulated %.4fs, model %.4fs (%+.2f%%)", 100*p, emp, q.Quantile(p), 100*(emp/q.Quantile(p)-1))
				}
			})
			t.Run("wrong models rejected", func(t *testing.T) {
				for name, model := range wrongModels {
					if name == "M/M/1 at cμ" && tc.c == 1 {
						continue
					}
					misses := compare(t, sim, model(q), simQuantiles, false)
					if len(misses) == 0 {
						t.Errorf("%s: the wrong formula passed the simulation", name)
						continue
					}
					t.Logf("%s rejected on %d of 5 figures, first %s", name, len(misses), misses[0])
				}
			})
		})
	}
	t.Logf("simulated %d queues in %v", len(simCases), time.Since(start))
}
