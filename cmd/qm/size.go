package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/queueing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// sizeOptions are the flags of qm size, as typed; runSize validates them.
type sizeOptions struct {
	rate float64 // requests per second
	// serviceTime and slo are read by the parsers of the service-time and
	// latency-slo annotations, so that a value qm accepts is one admission
	// accepts.
	serviceTime string
	slo         string
	gpus        int64
	// replicas, when replicasSet, asks for the prediction of one replica
	// count instead of sizing over the catalog.
	replicas      int
	replicasSet   bool
	interruptible bool
	output        string
	top           int
	// placing holds the catalog and quota flags qm shares with the webhook.
	placing placing
}

// newSizeCommand is qm size (contract 4.5): inference replicas per offer for
// a latency objective, and the cost/latency Pareto front.
func newSizeCommand(s streams) *cobra.Command {
	o := sizeOptions{placing: newPlacing()}
	cmd := &cobra.Command{
		Use:   "size --rate R --service-time T --slo pQ=L",
		Short: "Size an inference service per offer (M/M/c, Erlang C) and show the cost/latency Pareto front",
		Long: `size treats each replica as one server of an M/M/c queue: requests arrive at --rate
per second (Poisson), each takes an exponential time with mean --service-time, scaled
to each GPU model by its relative speed (memory bandwidth relative to the A100-80GB;
see docs/optimizer.md). For each offer it finds the fewest replicas whose predicted
response-time quantile (waiting + service, exact M/M/c distribution) meets the SLO,
and prints the nodes, the price per hour, p50/p99 and utilisation, then the Pareto
front of (price per hour, p99) over offers and replica counts.`,
		Example: `  qm size --rate 40 --service-time 120ms@A100-80GB --slo p99=500ms
  qm size --rate 40 --service-time 120ms --slo p99=500ms --replicas 4   # check a fixed count`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.replicasSet = cmd.Flags().Changed("replicas")
			return runSize(cmd.Context(), s, &o)
		},
	}
	fs := cmd.Flags()
	fs.Float64Var(&o.rate, "rate", 0, "requests per second")
	fs.StringVar(&o.serviceTime, "service-time", "", "mean service time per request, optionally @GPU model it was measured on (default A100-80GB)")
	fs.StringVar(&o.slo, "slo", "", "latency SLO, pQ=DURATION such as p99=500ms or p99.9=1s (as the latency-slo annotation)")
	fs.Int64Var(&o.gpus, "gpus-per-replica", 1, "GPUs per replica")
	fs.IntVar(&o.replicas, "replicas", 0, "only predict the latency of this replica count on the service time's GPU model")
	fs.BoolVar(&o.interruptible, "interruptible", false, "spot capacity is acceptable")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	fs.IntVar(&o.top, "top", 20, "offers to print in the table (0: all)")
	o.placing.addSourceFlags(fs)
	for _, f := range []string{"rate", "service-time", "slo"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// runSize validates the flags, then either predicts one replica count's
// latency (--replicas, no catalog needed) or sizes over every offer of the
// catalog with placement.Size. Input errors exit 1 naming the flag; no
// offer meeting the objective exits 3 with each GPU model's reason.
func runSize(ctx context.Context, s streams, o *sizeOptions) error {
	if o.output != "table" && o.output != "json" {
		return &exitError{exitInput, fmt.Errorf("output %q: want table or json", o.output)}
	}
	d, model, err := workload.ParseServiceTime(o.serviceTime)
	if err != nil {
		return &exitError{exitInput, fmt.Errorf("--service-time %w", err)}
	}
	q, lat, err := workload.ParseLatencySLO(o.slo)
	if err != nil {
		return &exitError{exitInput, fmt.Errorf("--slo %w", err)}
	}
	if !(o.rate > 0) || math.IsInf(o.rate, 0) {
		return &exitError{exitInput, fmt.Errorf("--rate %v: want a positive, finite number of requests per second", o.rate)}
	}
	if o.gpus < 1 {
		return &exitError{exitInput, fmt.Errorf("--gpus-per-replica %d: want at least 1", o.gpus)}
	}
	if o.replicasSet && (o.replicas < 1 || o.replicas > queueing.MaxReplicas) {
		return &exitError{exitInput, fmt.Errorf("--replicas %d: want between 1 and %d", o.replicas, queueing.MaxReplicas)}
	}
	if o.top < 0 {
		return &exitError{exitInput, fmt.Errorf("--top %d: want 0 (all) or more", o.top)}
	}
	if o.replicasSet {
		return predictReplicas(s.out, o, d, q, lat)
	}
	req := &placement.SizingRequest{Rate: o.rate, ServiceTime: d, ServiceModel: model, Quantile: q, Latency: lat,
		GPUsPerReplica: o.gpus, Interruptible: o.interruptible}
	eng, err := o.placing.loadPrices(ctx)
	if err != nil {
		return err
	}
	res, err := eng.Placer().Size(req)
	if err != nil {
		return &exitError{exitInput, err}
	}
	if len(res.Offers) == 0 {
		for _, m := range res.Misses {
			fmt.Fprintf(s.err, "qm: %s: %s\n", m.GPUModel, m.Reason)
		}
		fmt.Fprintln(s.err, "qm: no offer can meet the SLO")
		if o.output == "json" {
			_ = printSize(s.out, o, res)
		}
		return quiet{exitNoPlacement}
	}
	return printSize(s.out, o, res)
}

// predictReplicas prints one line for --replicas: the M/M/c figures of that
// many replicas at the service time as measured, on the GPU model it was
// measured on, so no catalog and no speed scaling are involved.
func predictReplicas(w io.Writer, o *sizeOptions, serviceTime time.Duration, q float64, lat time.Duration) error {
	queue := queueing.MMc{Lambda: o.rate, Mu: 1 / serviceTime.Seconds(), C: o.replicas}
	if err := queue.Validate(); err != nil {
		return &exitError{exitInput, err}
	}
	fmt.Fprintf(w, "replicas %d: utilisation %.3f, P(wait) %.4f, p50 %.1fms, p%g %.1fms, P(T > %v) = %.5f (SLO allows %.5f)\n",
		o.replicas, queue.Utilisation(), queueing.ErlangC(o.replicas, o.rate*serviceTime.Seconds()),
		1000*queue.Quantile(0.5), 100*q, 1000*queue.Quantile(q), lat, queue.Exceed(lat.Seconds()), 1-q)
	return nil
}

// printSize writes the result as JSON (every offer), or as a table of the
// --top cheapest offers followed by the whole Pareto front.
func printSize(w io.Writer, o *sizeOptions, res *placement.SizingResult) error {
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(x placement.SizedOffer) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.4f\t%.1f\t%.1f\t%.2f\n", x.Cloud, x.Region, x.InstanceType, x.GPUModel,
			x.CapacityType, x.Replicas, x.Nodes, x.PricePerHour, x.P50Ms, x.P99Ms, x.Utilisation)
	}
	header := "CLOUD\tREGION\tINSTANCE TYPE\tGPU\tCAPACITY\tREPLICAS\tNODES\tPRICE/H\tP50 MS\tP99 MS\tUTIL"
	fmt.Fprintln(tw, header)
	for i, x := range res.Offers {
		if o.top > 0 && i >= o.top {
			break
		}
		row(x)
	}
	fmt.Fprintf(tw, "\nPareto front (price per hour vs p99, over offers and replica counts):\n")
	fmt.Fprintln(tw, header)
	for _, x := range res.Pareto {
		row(x)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Offers) > o.top && o.top > 0 {
		fmt.Fprintf(w, "(%d more offers: --top 0 or -o json for all)\n", len(res.Offers)-o.top)
	}
	return nil
}
