package audit

import (
	"context"
	"os"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// The admission re-evaluation is the webhook's evaluator with the embedded
// library: the privileged debug pod of the examples is denied today, the
// L4 inference deployment is not.
func TestEvaluatorJudge(t *testing.T) {
	eng, err := engine.New(context.Background(), engine.NewConfig(), engine.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	j := EvaluatorJudge{Evaluator: eng.Evaluator()}
	for file, denied := range map[string]bool{"13-privileged-debug-pod.yaml": true, "03-inference-deployment-l4.yaml": false} {
		f, err := os.Open("../../examples/workloads/" + file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := workload.DecodeManifests(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ds, err := j.JudgeObject(context.Background(), docs[0].Object, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(ds) > 0; got != denied || denied && (ds[0].Code == "" || ds[0].Policy == "") {
			t.Errorf("%s: denials %+v, want denied %v with code and policy", file, ds, denied)
		}
	}
	if eng.PolicyBundle() == nil || !eng.PolicyBundle().HasAudit() {
		t.Error("the engine's bundle has no audit rules")
	}
}
