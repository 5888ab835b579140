//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/features/steps"
)

// TestClusterFeatures runs the features' @cluster scenarios (issue 16)
// against this suite's control plane: the real webhook on the host with the
// embedded policy library and the catalog cut to the regions with nodes,
// registered through the chart with failurePolicy Fail, and the real
// kubectl. Outside make e2e, go test ./features leaves them out and says so.
func TestClusterFeatures(t *testing.T) {
	startAdmission(t, webhookPort(15))
	kubectlBin := filepath.Join(cluster.toolsBin, "kubectl")
	hooks := steps.NewHooks(steps.Options{Cluster: &steps.Cluster{
		Kubectl: func(ctx context.Context, stdin []byte, args ...string) (string, string, error) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, kubectlBin, args...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.kubeconfig)
			if stdin != nil {
				cmd.Stdin = bytes.NewReader(stdin)
			}
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			return out.String(), errOut.String(), err
		},
	}})
	status := godog.TestSuite{
		Name: "cluster",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			hooks.Register(sc)
			steps.RegisterSteps(sc)
		},
		Options: &godog.Options{
			Format:   "pretty",
			Paths:    []string{filepath.Join(cluster.repo, "features")},
			Tags:     "@cluster",
			Strict:   true,
			NoColors: true,
			TestingT: t,
		},
	}.Run()
	if status != 0 {
		t.Fatal("@cluster scenarios failed")
	}
}
