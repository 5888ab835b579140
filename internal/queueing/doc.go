// Package queueing is the M/M/c queue that inference sizing rests on: Erlang
// B and C, the response-time distribution and its quantiles, the search for
// the fewest servers meeting a latency quantile, and the Pareto front of
// cost against latency. It is pure arithmetic: it imports nothing of the
// project, knows nothing of GPUs or offers, and is shared by placement
// (which applies it to the offers of a catalog) and through it by qm size
// and admission.
//
// # The model
//
// Requests arrive as a Poisson process at rate λ per second. There are c
// identical servers (replicas); each serves one request at a time, taking an
// exponentially distributed time S with rate μ (mean 1/μ). A request that
// finds every server busy waits in one first-come-first-served line. The
// queue has a steady state only when the offered load a = λ/μ is below c
// (utilisation ρ = a/c < 1); otherwise the line grows without bound
// (ErrUnstable).
//
// In steady state an arrival finds all c servers busy with the Erlang C
// probability C(c, a) (PASTA: Poisson arrivals see time averages). Erlang C
// is computed from the Erlang B blocking probability B(c, a) by
// C = c·B / (c − a·(1 − B)), and B by the recursion
// B(k) = a·B(k−1) / (k + a·B(k−1)), which only divides numbers in [0, 1] and
// so neither overflows nor cancels at any c.
//
// The response time is T = W + S, the wait plus the service. With every
// server busy, departures occur at rate cμ, so the wait of a request that
// has to wait is exponential with rate θ = cμ − λ (memorylessness: a
// geometric number of exponential inter-departure times); otherwise W = 0.
// S is independent of W. Convolving the two exponentials gives
//
//	P(T > t) = (1−C)·e^{−μt} + C·(θ·e^{−μt} − μ·e^{−θt}) / (θ − μ)   (θ ≠ μ)
//	P(T > t) = (1−C)·e^{−μt} + C·(1 + μt)·e^{−μt}                    (θ = μ)
//
// (Gross and Harris, Fundamentals of Queueing Theory, §2.3). Quantiles are
// found by bisection on this monotone tail. The mean wait is C/θ.
//
// # Where the model is wrong for GPU inference
//
//   - Batching. A model server batches concurrent requests, so a replica is
//     not one server at a fixed rate: throughput grows with the queue and
//     the latency of one request grows with the batch. M/M/c is pessimistic
//     about throughput under load (it never batches) and optimistic about
//     the service time of a request in a large batch. Measure service-time
//     at the batch size you run, or treat one replica as several servers.
//   - Exponential service. Real service times (tokens generated × time per
//     token) are less variable than exponential for a fixed prompt mix and
//     more variable for a heavy-tailed one; the tail quantiles follow.
//   - Poisson arrivals. Bursty traffic (retries, diurnal peaks, fan-out)
//     waits more than the model predicts at the same mean rate; size for
//     the peak rate, not the average.
//   - Steady state. The figures are long-run; they say nothing about a
//     cold start, a scale-up in progress or a queue draining after a burst.
//
// The figures are therefore a first sizing and a warning when a replica
// count clearly cannot meet an objective, not a guarantee.
package queueing
