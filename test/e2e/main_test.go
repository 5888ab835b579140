//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// env is what every test needs to reach the cluster.
type env struct {
	repo       string // repository root
	toolsBin   string // kubectl, helm, ...
	kubeconfig string
	qm         string // the qm binary built for this run
	portBase   int
	clusterDir string
}

var cluster env

// nodeRegions are the regions the cluster gets fake nodes in: three per cloud.
// Placement in these tests is restricted to them, as a residency policy would.
var nodeRegions = []string{
	"us-east-1", "eu-west-1", "ap-northeast-1", // aws
	"eastus", "westeurope", "japaneast", // azure
	"us-central1", "europe-west4", "asia-northeast1", // gcp
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

// runMain starts the cluster, runs the tests and always stops the cluster.
func runMain(m *testing.M) int {
	var err error
	if cluster, err = setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	// Ctrl-C or a CI cancel: stop the cluster before dying. (A timeout panic
	// skips this; the watchdog started by cluster-up.sh covers that case.)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		clusterDown()
		os.Exit(1)
	}()
	defer clusterDown()

	start := time.Now()
	if out, err := script("cluster-up.sh"); err != nil {
		fmt.Fprintf(os.Stderr, "cluster-up failed: %v\n%s\n", err, out)
		return 1
	}
	fmt.Printf("e2e: cluster up in %s\n", time.Since(start).Round(100*time.Millisecond))
	start = time.Now()
	code := m.Run()
	fmt.Printf("e2e: tests ran in %s\n", time.Since(start).Round(100*time.Millisecond))
	return code
}

func setup() (env, error) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return env{}, err
	}
	e := env{repo: repo, toolsBin: os.Getenv("QM_TOOLS_BIN"), portBase: 16443}
	if e.toolsBin == "" {
		e.toolsBin = filepath.Join(repo, ".cache", "bin")
	}
	if v := os.Getenv("QM_E2E_PORT_BASE"); v != "" {
		if e.portBase, err = strconv.Atoi(v); err != nil {
			return env{}, fmt.Errorf("QM_E2E_PORT_BASE %q: %w", v, err)
		}
	}
	for _, tool := range []string{"kubectl", "helm", "etcd", "kube-apiserver", "kwok"} {
		if _, err := os.Stat(filepath.Join(e.toolsBin, tool)); err != nil {
			return env{}, fmt.Errorf("%s missing in %s: run `make tools-cluster` (or `make e2e`)", tool, e.toolsBin)
		}
	}
	dir, err := os.MkdirTemp("", "qm-e2e-")
	if err != nil {
		return env{}, err
	}
	e.clusterDir = filepath.Join(dir, "cluster")
	e.kubeconfig = filepath.Join(e.clusterDir, "kubeconfig")
	e.qm = filepath.Join(dir, "qm")
	build := exec.Command("go", "build", "-o", e.qm, "./cmd/qm")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		return env{}, fmt.Errorf("building qm: %v\n%s", err, out)
	}
	return e, nil
}

// script runs a hack/ script with the cluster's environment.
func script(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.repo, "hack", name), args...)
	cmd.Env = append(os.Environ(),
		"QM_TOOLS_BIN="+cluster.toolsBin,
		"QM_CLUSTER_DIR="+cluster.clusterDir,
		"QM_E2E_PORT_BASE="+strconv.Itoa(cluster.portBase),
		"QM="+cluster.qm,
		"QM_CLUSTER_OWNER_PID="+strconv.Itoa(os.Getpid()),
		"QM_NODE_REGIONS="+strings.Join(nodeRegions, ","),
	)
	cmd.Stderr = os.Stderr // progress and timings, live
	return cmd.Output()
}

func clusterDown() {
	if out, err := script("cluster-down.sh"); err != nil {
		fmt.Fprintf(os.Stderr, "cluster-down failed: %v\n%s\n", err, out)
	}
	if os.Getenv("QM_KEEP_CLUSTER_DIR") != "1" {
		os.RemoveAll(filepath.Dir(cluster.clusterDir))
	}
}
