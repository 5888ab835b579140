package placement

import (
	"errors"
	"fmt"
	"math"

	"github.com/quartermaster-io/quartermaster/internal/queueing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// CheckSLO checks an inference workload's latency objective (contract 4.1:
// request rate, service time measured on a GPU model, latency SLO) against
// replicas servers of model, with the M/M/c model of queueing.Replicas. It
// returns "" when the objective is met or the workload gives no complete
// objective, else a sentence saying what is missing. Admission warns with
// it; it does not choose the replica count (PlaceInference does).
func CheckSLO(inf *workload.InferenceSLO, model string, replicas int) string {
	if !completeSLO(inf) {
		return ""
	}
	mu, ok := serviceRate(inf.ServiceTime.Seconds(), inf.ServiceTimeModel, model)
	if !ok {
		return fmt.Sprintf("inference SLO not checked: no relative speed for %s or %s (known: %v)", inf.ServiceTimeModel, model, speedModels())
	}
	p := fmt.Sprintf("p%g ≤ %v", 100*inf.SLOQuantile, inf.SLOLatency)
	// With unboundedly many replicas no request waits: if the service time
	// alone exceeds the bound too often, no replica count helps.
	if tail := math.Exp(-mu * inf.SLOLatency.Seconds()); tail > 1-inf.SLOQuantile {
		return fmt.Sprintf("inference SLO %s cannot be met on %s at any replica count: with a mean of %.3gs per request there, exponentially distributed, %.2g%% of requests take longer than %v before any wait",
			p, model, 1/mu, 100*tail, inf.SLOLatency)
	}
	need, err := queueing.Replicas(inf.RequestRate, mu, inf.SLOQuantile, inf.SLOLatency)
	switch {
	case errors.Is(err, queueing.ErrUnstable):
		return fmt.Sprintf("inference SLO %s cannot be met on %s at %g requests/s: more than %d replicas would be needed", p, model, inf.RequestRate, queueing.MaxReplicas)
	case err != nil:
		return fmt.Sprintf("inference SLO not checked: %v", err)
	case replicas < need:
		return fmt.Sprintf("inference SLO %s at %g requests/s needs %d replicas on %s (M/M/c, %.3gs per request there); the workload has %d",
			p, inf.RequestRate, need, model, 1/mu, replicas)
	}
	return ""
}

// completeSLO reports whether inf gives every sizing input: a rate, a
// service time and a latency objective.
func completeSLO(inf *workload.InferenceSLO) bool {
	return inf != nil && inf.RequestRate > 0 && inf.ServiceTime > 0 && inf.SLOQuantile > 0 && inf.SLOQuantile < 1 && inf.SLOLatency > 0
}
