// Package placement decides where GPU work should run.
//
// Place picks, for one gang (every GPU replica of one workload), the cheapest
// feasible offer of the catalog: one cloud, region, instance type and capacity
// type for the whole gang, filtered by the acceptable GPU models, the
// workload's own node pin, the restrictions policy hands over, node capacity,
// what the cluster can provision (a Provisioner, when the request has one)
// and the quota left. It returns the runner-up alternatives with it and the
// cheaper offer the cluster could not provide, if any, or a
// *NoFeasibleError that names the filter which emptied the candidate set.
//
// Place is on the admission hot path: it does no I/O, walks only the catalog
// entries of the acceptable GPU models, and allocates a handful of objects
// per call whatever the catalog size.
//
// Candidates runs the same filters without ranking and returns every
// feasible placement. Placing many gangs together under shared quotas is the
// job of the batch subpackage and the solver of internal/milp, which the
// webhook does not link.
//
// Inference sizing applies the M/M/c model of internal/queueing to the
// offers: Size prices, per GPU model, every offer a service may use at the
// fewest replicas meeting its latency SLO and at larger counts (qm size);
// PlaceInference chooses an inference gang's offer and replica count
// together; PredictSLO and CheckSLO judge a replica count the workload
// gives. Service times are carried from one GPU model to another by
// RelativeSpeed. They enumerate offers with options, through the same
// restriction and capacity-type filters as the candidate scan.
package placement
