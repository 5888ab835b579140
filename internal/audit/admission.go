package audit

import (
	"context"

	"github.com/quartermaster-io/quartermaster/internal/admission"
)

// EvaluatorJudge re-evaluates the admission policies on running workloads
// with the webhook's own evaluator (admission.Evaluator.Judge): the same
// extraction, evidence and rules, so that "admission would deny it today"
// means exactly that.
type EvaluatorJudge struct{ Evaluator *admission.Evaluator }

var _ AdmissionJudge = EvaluatorJudge{}

// JudgeObject returns the violations of obj under today's policies.
func (j EvaluatorJudge) JudgeObject(ctx context.Context, obj map[string]any, namespaceLabels map[string]string) ([]Denial, error) {
	jd, err := j.Evaluator.Judge(ctx, &admission.Input{ID: "audit", Object: obj, NamespaceLabels: namespaceLabels})
	if err != nil {
		return nil, err
	}
	var out []Denial
	for _, v := range jd.Outcome.Violations {
		out = append(out, Denial{Code: v.Code, Msg: v.Msg, Policy: v.Policy})
	}
	return out, nil
}
