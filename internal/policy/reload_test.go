package policy

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

const (
	ruleV1 = "package quartermaster.t\n\ndeny contains {\"code\": \"v1\", \"msg\": \"first\"} if input.workload.team == \"x\"\n"
	ruleV2 = "package quartermaster.t\n\ndeny contains {\"code\": \"v2\", \"msg\": \"second\"} if input.workload.team == \"x\"\n"
	broken = "package quartermaster.t\n\ndeny contains {\"code\": \"v3\" if {\n"
	testV2 = "package quartermaster.t_test\n\nimport data.quartermaster.t\n\ntest_x if count(t.deny) == 1 with input.workload.team as \"x\"\n"
	badTst = "package quartermaster.t_test\n\nimport data.quartermaster.t\n\ntest_x if count(t.deny) == 2 with input.workload.team as \"x\"\n"
)

// configMap lays out dir as the kubelet mounts a ConfigMap: the files in a
// timestamped directory, ..data linking to it, and one link per key.
type configMap struct {
	t   *testing.T
	dir string
	gen int
}

func (c *configMap) write(files map[string]string) {
	c.t.Helper()
	c.gen++
	ts := filepath.Join(c.dir, "..2026_11_28_"+string(rune('a'+c.gen)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		c.t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(ts, name), []byte(body), 0o644); err != nil {
			c.t.Fatal(err)
		}
		link := filepath.Join(c.dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	// The atomic swap: a new ..data_tmp link renamed over ..data.
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

func decide(t *testing.T, r *Reloader) []string {
	t.Helper()
	d, err := r.Evaluate(context.Background(), teamInput("x", "ml"))
	if err != nil {
		t.Fatal(err)
	}
	return codes(d.Violations)
}

func TestHotReload(t *testing.T) {
	ctx := context.Background()
	cm := &configMap{t: t, dir: t.TempDir()}
	cm.write(map[string]string{"policy.rego": ruleV1, "policy_test.rego": strings.ReplaceAll(testV2, "== 1", ">= 0")})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r, err := NewReloader(ctx, cm.dir, Options{}, slog.New(slog.NewTextHandler(&logs, nil)), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := decide(t, r); len(got) != 1 || got[0] != "v1" {
		t.Fatalf("initial decision %v, want [v1]", got)
	}
	first := r.Bundle().Revision()
	compiles := Compilations()

	steps := []struct {
		name     string
		files    map[string]string
		changed  bool
		errWant  string
		decision string
		failures float64
	}{
		{"unchanged content is not recompiled", nil, false, "", "v1", 0},
		{"broken bundle keeps the old one", map[string]string{"policy.rego": broken, "policy_test.rego": testV2}, false, "parsing policy.rego", "v1", 1},
		{"the same broken bundle is reported once", nil, false, "", "v1", 1},
		{"bundle failing its own tests keeps the old one", map[string]string{"policy.rego": ruleV2, "policy_test.rego": badTst}, false, "fails its own tests", "v1", 2},
		{"fixed bundle is picked up", map[string]string{"policy.rego": ruleV2, "policy_test.rego": testV2}, true, "", "v2", 2},
	}
	for _, s := range steps {
		if s.files != nil {
			cm.write(s.files)
		}
		changed, err := r.Check(ctx)
		if changed != s.changed || (err == nil) != (s.errWant == "") || err != nil && !strings.Contains(err.Error(), s.errWant) {
			t.Fatalf("%s: changed %v, err %v; want changed %v, error containing %q", s.name, changed, err, s.changed, s.errWant)
		}
		if got := decide(t, r); len(got) != 1 || got[0] != s.decision {
			t.Fatalf("%s: decision %v, want [%s]", s.name, got, s.decision)
		}
		if f := testutil.ToFloat64(m.reloads.WithLabelValues("failure")); f != s.failures {
			t.Fatalf("%s: %v failures counted, want %v", s.name, f, s.failures)
		}
	}
	if r.Bundle().Revision() == first {
		t.Error("revision did not change with the content")
	}
	if testutil.ToFloat64(m.failing) != 0 || testutil.ToFloat64(m.reloads.WithLabelValues("success")) != 2 {
		t.Error("want the failing gauge cleared and two successful loads counted")
	}
	if Compilations()-compiles != 1 {
		t.Errorf("%d compilations across the steps, want 1 (only the fixed bundle)", Compilations()-compiles)
	}
	if !strings.Contains(logs.String(), "policy bundle rejected") {
		t.Errorf("rejections not logged: %s", logs.String())
	}
}

func TestReloaderNeedsAValidBundle(t *testing.T) {
	cm := &configMap{t: t, dir: t.TempDir()}
	cm.write(map[string]string{"policy.rego": broken})
	if _, err := NewReloader(context.Background(), cm.dir, Options{}, nil, nil); err == nil || !strings.Contains(err.Error(), "parsing") {
		t.Fatalf("want a parse error, got %v", err)
	}
	if _, err := NewReloader(context.Background(), filepath.Join(cm.dir, "missing"), Options{}, nil, nil); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

// A reload between the two phases of one admission does not mix bundles:
// phase two runs the rules of the bundle that ran phase one, so that one
// decision is judged by one policy revision.
func TestReloadBetweenPhases(t *testing.T) {
	ctx := context.Background()
	budget := func(limit string) string {
		return "package quartermaster.b\n\ndeny contains {\"code\": \"over-" + limit + "\", \"msg\": \"m\"} if input.placement.pricePerHour > " + limit + "\n"
	}
	cm := &configMap{t: t, dir: t.TempDir()}
	cm.write(map[string]string{"b.rego": budget("10")})
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReloader(ctx, cm.dir, Options{}, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.Evaluate(ctx, teamInput("x", "ml"))
	if err != nil {
		t.Fatal(err)
	}
	cm.write(map[string]string{"b.rego": budget("100")})
	if changed, err := r.Check(ctx); !changed || err != nil {
		t.Fatalf("reload: changed %v, err %v", changed, err)
	}
	d, err := e.Placed(ctx, &placement.Placement{PricePerHour: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(d.Violations); len(got) != 1 || got[0] != "over-10" || d.Revision != e.Revision {
		t.Errorf("phase two: violations %v revision %s, want [over-10] of phase one's revision %s", got, d.Revision, e.Revision)
	}
	// A new admission sees the new bundle.
	e2, err := r.Evaluate(ctx, teamInput("x", "ml"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err = e2.Placed(ctx, &placement.Placement{PricePerHour: 50}); err != nil || len(d.Violations) != 0 {
		t.Errorf("after the reload: violations %v, err %v; want none", d.Violations, err)
	}
}
