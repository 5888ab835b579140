//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// result is a finished command.
type result struct {
	stdout, stderr string
	err            error
}

// run executes a binary with the cluster's kubeconfig and a deadline.
func run(t testing.TB, stdin []byte, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.kubeconfig, "HELM_CACHE_HOME="+t.TempDir(),
		"HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{out.String(), errOut.String(), err}
}

// must fails the test unless the command succeeded, and returns its stdout.
func (r result) must(t testing.TB, what string) string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", what, r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

func kubectl(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, nil, filepath.Join(cluster.toolsBin, "kubectl"), args...)
}

func kubectlIn(t testing.TB, stdin []byte, args ...string) result {
	t.Helper()
	return run(t, stdin, filepath.Join(cluster.toolsBin, "kubectl"), args...)
}

func helm(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, nil, filepath.Join(cluster.toolsBin, "helm"), args...)
}

func qm(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, nil, cluster.qm, args...)
}

// getJSON runs kubectl get ... -o json and decodes the answer into v.
func getJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := kubectl(t, append(append([]string{"get"}, args...), "-o", "json")...).must(t, "kubectl get "+strings.Join(args, " "))
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding kubectl get %v: %v", args, err)
	}
}

// eventually retries check every half second until it returns nil or the
// timeout passes, then fails with the last error. Timeouts are generous upper
// bounds for a loaded 2-core machine, not assertions on speed.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// namespace creates a namespace for one test and deletes it afterwards.
// exemptNamespace is namespace, labelled exempt from Quartermaster (the
// chart's webhook.exemptNamespaceLabel) by the admin the tests run as.
func exemptNamespace(t testing.TB, name string, serviceAccounts ...string) {
	t.Helper()
	namespace(t, name, serviceAccounts...)
	kubectl(t, "label", "namespace", name, "quartermaster.io/ignore=true").must(t, "exempting namespace "+name)
}

func namespace(t testing.TB, name string, serviceAccounts ...string) {
	t.Helper()
	kubectl(t, "create", "namespace", name).must(t, "creating namespace "+name)
	t.Cleanup(func() { kubectl(t, "delete", "namespace", name, "--wait=false") })
	// Pods need their service accounts; the controller-manager makes "default" on its own.
	for _, sa := range serviceAccounts {
		kubectl(t, "create", "serviceaccount", sa, "-n", name).must(t, "creating service account "+sa)
	}
}
