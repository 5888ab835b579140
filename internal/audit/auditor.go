package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// RuleAuditor evaluates the audit policies (quartermaster.audit.*) on one
// resource; *policy.Bundle implements it.
type RuleAuditor interface {
	Audit(ctx context.Context, resource any) ([]policy.AuditFinding, error)
}

// ruleGate is what a RuleAuditor may also tell: whether its rules can find
// anything on a resource of this kind with these labels, so that the ones
// no rule judges are not evaluated (a *policy.Bundle reads it off the
// rules' first tests).
type ruleGate interface {
	MayAudit(kind string, labels map[string]string) bool
}

// AdmissionJudge re-evaluates the admission policies on a workload object
// as it runs now. It returns the codes and messages of the rules that would
// deny it today (empty: still admitted). The engine's evaluator backs it.
type AdmissionJudge interface {
	JudgeObject(ctx context.Context, obj map[string]any, namespaceLabels map[string]string) ([]Denial, error)
}

// Denial is one admission rule that denies a running workload today.
type Denial struct {
	Code, Msg, Policy string
}

// Replanner places the running workloads again, all at once, with today's
// prices, quotas and policies: the batch optimizer over what runs. It
// returns where each would go now; a workload it leaves out (denied today,
// unplaceable) has no move. The engine and the batch optimizer back it.
type Replanner interface {
	Replan(ctx context.Context, running []Running) ([]Move, error)
}

// Running is a workload that runs with a decision.
type Running struct {
	// Key identifies it in the moves: account/namespace/name.
	Key             string
	Object          map[string]any
	NamespaceLabels map[string]string
}

// Move is where a running workload would go today.
type Move struct {
	Key                                   string
	Cloud, Region, InstanceType, GPUModel string
	CapacityType                          string
	Nodes                                 int
	PricePerHour                          float64
}

// Thresholds are the checks' settings (docs/auditor.md explains each
// default against what other tools use).
type Thresholds struct {
	// IdleMean and IdlePeak: a GPU whose mean engine activity over the
	// window is under IdleMean and whose peak is under IdlePeak is idle.
	IdleMean, IdlePeak float64
	// BackupMaxAge is how old a checkpoint volume's newest snapshot may be.
	BackupMaxAge time.Duration
	// PriceDrift is the share of its price a running workload must save
	// by moving for the move to be reported.
	PriceDrift float64
}

// Default thresholds. 5% mean engine activity is where the profiling
// metric separates a GPU doing work from one holding a model in memory and
// waiting (a busy training job runs at 40–90%); the 20% peak keeps a
// bursty job (a nightly evaluation at 60% for one hour of 24) off the
// list. One day of snapshots is what an hourly-checkpointing job can lose.
var DefaultThresholds = Thresholds{IdleMean: 0.05, IdlePeak: 0.20, BackupMaxAge: 24 * time.Hour, PriceDrift: 0.20}

// Auditor runs every check over an inventory stream. Build it once per
// run; it is not safe for concurrent use.
type Auditor struct {
	// Rules, when set, runs the audit policies on every resource.
	Rules RuleAuditor
	// Admission, when set, re-evaluates the admission policies on every
	// workload object: something admitted under last month's policy.
	Admission AdmissionJudge
	// Replanner, when set, places the running workloads again to find
	// those that today's prices would put somewhere much cheaper.
	Replanner Replanner
	// Catalog prices instances and nodes (on-demand or spot, by cloud,
	// region and instance type).
	Catalog    *costing.Catalog
	Thresholds Thresholds
	Now        func() time.Time
}

// Result is what a run found: every finding (sorted: severity, cost), the
// cost allocation and the totals.
type Result struct {
	Findings []Finding `json:"findings"`
	Costs    Costs     `json:"costs"`
	Summary  Summary   `json:"summary"`
	// Resources counts what was read, by kind.
	Resources map[inventory.Kind]int `json:"resources"`
	// Errors are resources a check could not judge (a policy error on one
	// resource): reported, never silently skipped.
	Errors []string `json:"errors,omitempty"`
}

// Summary totals the findings.
type Summary struct {
	Findings     int                `json:"findings"`
	BySeverity   map[string]int     `json:"bySeverity"`
	ByCategory   map[string]int     `json:"byCategory"`
	WasteMonthly float64            `json:"wasteMonthly"`
	WasteByCheck map[string]float64 `json:"wasteByCheck"`
	// SpendMonthly is the monthly run rate of the GPUs allocated to pods.
	SpendMonthly float64 `json:"spendMonthly"`
}

// maxErrors bounds Result.Errors: past it, a count says how many more.
const maxErrors = 100

// Run reads every resource from next (until io.EOF), checks each as it
// comes (compliance), keeps the small indexes the joins need (nodes,
// disks, pods, snapshots), and runs the joined checks (waste, drift,
// backup, cost) at the end. Memory grows with those indexes, not with the
// resources' full records.
func (a *Auditor) Run(ctx context.Context, next func() (*inventory.Resource, error)) (*Result, error) {
	if a.Catalog == nil {
		return nil, errors.New("audit: a catalog is required to price findings")
	}
	t := a.Thresholds
	if t == (Thresholds{}) {
		t = DefaultThresholds
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	s := newState(a.Catalog, t, now())
	res := &Result{Resources: map[inventory.Kind]int{}}
	gate, _ := a.Rules.(ruleGate)
	rules := a.startRules(ctx)
	var failed []string // resources a check could not judge
	readErr := func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading the inventory: %w", err)
			}
			res.Resources[r.Kind]++
			if gate == nil || gate.MayAudit(string(r.Kind), r.Labels) {
				rules.submit(r)
			}
			// The admission re-evaluation reads the namespace labels the
			// stream has given so far: it runs here, in stream order.
			if err := a.admission(ctx, r, s); err != nil {
				if !policy.IsEvalError(err) {
					return err
				}
				failed = append(failed, fmt.Sprintf("%s %s: %v", r.Kind, r.ID, err))
			}
			s.index(r)
		}
	}()
	ruleFindings, ruleFailed, err := rules.wait()
	if readErr != nil {
		return nil, readErr
	}
	if err != nil {
		return nil, err
	}
	s.findings = append(s.findings, ruleFindings...)
	failed = append(failed, ruleFailed...)
	slices.Sort(failed) // the workers finish in any order
	if len(failed) > maxErrors {
		failed = append(failed[:maxErrors], fmt.Sprintf("and %d more resources that could not be judged", len(failed)-maxErrors))
	}
	res.Errors = failed
	s.waste()
	s.drift()
	if a.Replanner != nil {
		if err := s.priceDrift(ctx, a.Replanner); err != nil {
			res.Errors = append(res.Errors, "price drift not checked: "+err.Error())
		}
	}
	s.backup()
	res.Costs = s.allocate()
	res.Findings = s.findings
	SortFindings(res.Findings)
	res.Summary = Summarise(res.Findings, res.Costs)
	return res, nil
}

// admission re-evaluates the admission policies on a workload object.
func (a *Auditor) admission(ctx context.Context, r *inventory.Resource, s *state) error {
	if a.Admission == nil || r.Kind != inventory.KindWorkload || r.Workload == nil || r.Workload.Object == nil {
		return nil
	}
	denials, err := a.Admission.JudgeObject(ctx, r.Workload.Object, s.namespaceLabels[r.Account+"/"+r.Namespace])
	if err != nil {
		return err
	}
	for _, d := range denials {
		nf := newFinding(r, CategoryCompliance, policy.SeverityHigh, d.Code, d.Policy,
			"running, but admission would deny it today: "+d.Msg)
		nf.Remediation = "fix the workload, or record an exemption; it was admitted under an earlier policy or before Quartermaster"
		s.add(nf)
	}
	return nil
}

// Summarise totals findings and costs: the summary of a run, or of merged
// shards.
func Summarise(fs []Finding, c Costs) Summary {
	s := Summary{Findings: len(fs), BySeverity: map[string]int{}, ByCategory: map[string]int{}, WasteByCheck: map[string]float64{},
		SpendMonthly: round2(c.TotalMonthly)}
	for _, f := range fs {
		s.BySeverity[f.Severity]++
		s.ByCategory[f.Category]++
		if f.Category == CategoryWaste {
			s.WasteMonthly += f.MonthlyCost
			s.WasteByCheck[f.Code] += f.MonthlyCost
		}
	}
	s.WasteMonthly = round2(s.WasteMonthly)
	for k, v := range s.WasteByCheck {
		s.WasteByCheck[k] = round2(v)
	}
	return s
}
