package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"io/fs"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/placement/batch"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// world is one scenario's state, carried in the context.
type world struct {
	bundle *policy.Bundle
	// policyFS is where the bundle came from; a scenario that changes the
	// policy data (enforcement, exemptions) gets a bundle of its own.
	policyFS     fs.FS
	dataEdits    map[string]string
	bundleEdited *policy.Bundle
	// cluster is the real cluster of @cluster scenarios, clusterNS the
	// scenario's namespace there, applied what kubectl said.
	cluster   *Cluster
	clusterNS string
	applied   *applied
	// mode is the webhook operation the next request goes to.
	mode admission.Mode

	// catalogCSV is the scenario's catalog in the catalog's CSV format
	// (contract 4.4); "" is the embedded catalog.
	catalogCSV string
	quotas     quota.GPUCounts
	usage      quota.GPUCounts
	// ownUsage is what the stored object's own pods hold (for updates).
	ownUsage quota.GPUCounts
	// clusterState and inventory are YAML documents written by the
	// scenario, read by the same parsers as qm eval's --cluster-state and
	// --inventory.
	clusterState []string
	inventory    []encryption.DatasetFacts
	user         string
	groups       []string
	// labelProfile names the cluster's node label convention.
	labelProfile string

	deadline   time.Duration
	onDeadline admission.DeadlineOutcome
	slowPolicy bool

	// object is what the next request carries; stored is the object as
	// the API server holds it after the last admission (patch applied).
	object map[string]any
	stored map[string]any
	// firstDecision is the decision of the first admission, to tell a kept
	// decision from a new one.
	firstDecision *admission.Decision
	seq           int

	last *reply

	dir     string
	logPath string
	logW    *decisionlog.Writer

	// files are the catalog and quota files of reload scenarios.
	files *files
	// built is the engine of the last request and builtKey its inputs, so
	// that the next request over the same inputs reuses it.
	built    *engine.Engine
	builtKey string

	batch *batch.Result
	// denied are the batch's workloads policy left out.
	denied []*admission.Outcome
}

// reply is what one request to the handler came back with.
type reply struct {
	httpStatus int
	review     struct {
		Response *struct {
			UID       string   `json:"uid"`
			Allowed   bool     `json:"allowed"`
			Patch     []byte   `json:"patch"`
			PatchType string   `json:"patchType"`
			Warnings  []string `json:"warnings"`
			Status    *struct {
				Code    int    `json:"code"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	// entry is the decision log entry the handler recorded; nil for fast
	// path, dry runs and transport errors.
	entry *decisionlog.Entry
}

func (w *world) close() error {
	var err error
	if w.logW != nil {
		err = w.logW.Close()
		w.logW = nil
	}
	return errors.Join(err, os.RemoveAll(w.dir))
}

// recorder keeps the entries the handler records and passes them on to the
// scenario's decision log, if it has one.
type recorder struct {
	mu      sync.Mutex
	entries []*decisionlog.Entry
	next    admission.DecisionRecorder
}

func (r *recorder) Record(e *decisionlog.Entry) error {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
	if r.next != nil {
		return r.next.Record(e)
	}
	return nil
}

// clusterState is the cluster as the handler's informers would see it:
// namespace labels from the scenario's cluster state, GPUs in use, and the
// part of them the updated object's own pods hold.
type clusterState struct {
	ns interface {
		NamespaceLabels(string) map[string]string
	}
	usage quota.GPUCounts
	own   quota.GPUCounts
}

func (c *clusterState) NamespaceLabels(namespace string) map[string]string {
	if c.ns == nil {
		return nil
	}
	return c.ns.NamespaceLabels(namespace)
}
func (c *clusterState) GPUUsage() quota.GPUCounts { return c.usage }
func (c *clusterState) OwnerUsage(_, _, _ string) quota.GPUCounts {
	return c.own
}

// slowPolicy stands for a policy evaluation that does not finish before the
// handler's deadline: it waits for the context to end.
type slowPolicy struct{}

func (slowPolicy) Evaluate(ctx context.Context, _ *policy.Input) (*policy.Evaluation, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// engine builds the scenario's decision as the binaries build theirs,
// through internal/engine: the scenario's catalog, quotas, cluster state and
// inventory are written as the files the flags would name, and read by the
// same loaders. Only the policy engine is handed in (Deps.Policy): one
// compiled bundle is shared by every scenario, and some scenarios stand in a
// slow policy or an edited bundle. A scenario serving files to reload keeps
// one engine, so that a check sees the version in service before it.
func (w *world) engine() (*engine.Engine, error) {
	if w.files != nil && w.files.engine != nil {
		return w.files.engine, nil
	}
	// A scenario serving files names its catalog and quotas by them; the
	// others write what their steps set.
	var catalog, quotas, state, inventory []byte
	if w.files == nil {
		catalog = []byte(w.catalogCSV)
		if len(w.quotas) > 0 {
			quotas = quotasYAML(w.quotas)
		}
	}
	if len(w.clusterState) > 0 {
		// Storage, namespaces, and the Nodes and NodePools of the
		// provisionable filter (on when the file holds any, as auto says).
		state = []byte(strings.Join(w.clusterState, "\n---\n"))
	}
	if len(w.inventory) > 0 {
		raw, err := yaml.Marshal(map[string]any{"datasets": w.inventory})
		if err != nil {
			return nil, fmt.Errorf("encoding the scenario's inventory: %w", err)
		}
		inventory = raw
	}
	pol, err := w.policyEngine()
	if err != nil {
		return nil, err
	}
	// Most scenarios post several requests over the same inputs: the engine
	// is rebuilt only when one of them changed, as a restarted webhook would
	// be.
	key := strings.Join([]string{w.labelProfile, string(catalog), string(quotas), string(state), string(inventory),
		fmt.Sprintf("%T %p", pol, pol)}, "\x00")
	if w.built != nil && w.builtKey == key {
		return w.built, nil
	}
	cfg := engine.NewConfig()
	cfg.Nodes.LabelProfile = w.labelProfile
	if w.files != nil {
		// As the webhook serves --catalog and --quota: the reloader's.
		cfg.Sources.Catalog, cfg.Sources.Quota = w.files.catalog, w.files.quota
	}
	for _, in := range []struct {
		name    string
		content []byte
		flag    *string
	}{
		{"catalog.csv", catalog, &cfg.Sources.Catalog},
		{"quota.yaml", quotas, &cfg.Sources.Quota},
		{"cluster-state.yaml", state, &cfg.Facts.ClusterState},
		{"inventory.yaml", inventory, &cfg.Facts.Inventory},
	} {
		if len(in.content) == 0 {
			continue // the flag's default: embedded catalog, no quotas, nothing known
		}
		if *in.flag, err = w.writeInput(in.name, in.content); err != nil {
			return nil, err
		}
	}
	e, err := engine.New(context.Background(), cfg, engine.Deps{Policy: pol})
	if err != nil {
		return nil, fmt.Errorf("building the scenario's engine: %w", err)
	}
	if w.files != nil {
		w.files.engine = e
	}
	w.built, w.builtKey = e, key
	return e, nil
}

// writeInput writes one of the scenario's input files and returns its path.
func (w *world) writeInput(name string, content []byte) (string, error) {
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return "", fmt.Errorf("writing the scenario's %s: %w", name, err)
	}
	return path, nil
}

// quotasYAML writes quotas in the quota file's shape (contract 4.4b), in a
// fixed order so that the file of a scenario is the same on every run.
func quotasYAML(q quota.GPUCounts) []byte {
	var b strings.Builder
	b.WriteString("quotas:\n")
	for _, k := range slices.SortedFunc(maps.Keys(q), func(a, b quota.Key) int {
		return strings.Compare(a.Cloud+"/"+a.Region+"/"+a.GPUModel, b.Cloud+"/"+b.Region+"/"+b.GPUModel)
	}) {
		fmt.Fprintf(&b, "  - {cloud: %s, region: %s, gpuModel: %s, gpus: %d}\n", k.Cloud, k.Region, k.GPUModel, q[k])
	}
	return []byte(b.String())
}

// policyEngine is the scenario's policy: the shared bundle, the bundle with
// the scenario's data edits, or a policy that never answers.
func (w *world) policyEngine() (admission.PolicyEngine, error) {
	switch {
	case w.slowPolicy:
		return slowPolicy{}, nil
	case len(w.dataEdits) > 0:
		return w.editedBundle()
	}
	return w.bundle, nil
}

// handler wires the mutating webhook handler over the evaluator, with the
// decision recorder.
func (w *world) handler(rec admission.DecisionRecorder) (*admission.Handler, error) {
	e, err := w.engine()
	if err != nil {
		return nil, err
	}
	// The handler reads the engine's namespace labels, but the GPUs in use
	// and the updated object's own as the scenario sets them, as informers
	// would count them.
	state := &clusterState{ns: e.State(), usage: w.usage, own: w.ownUsage}
	return admission.NewHandler(admission.HandlerOptions{
		Mode: w.mode, Evaluator: e.Evaluator(), State: state, Log: rec,
		Deadline: w.deadline, OnDeadline: w.onDeadline, PolicyRevision: w.bundle.Revision, CatalogRevision: e.CatalogRevision,
	})
}

// editedBundle is the scenario's bundle: the library with the data files
// the scenario rewrote, compiled once by the same loader.
func (w *world) editedBundle() (*policy.Bundle, error) {
	if w.bundleEdited != nil {
		return w.bundleEdited, nil
	}
	files, err := policy.ReadFiles(w.policyFS)
	if err != nil {
		return nil, err
	}
	// Edits are keyed by file name, wherever the library keeps the file.
	for name, content := range w.dataEdits {
		key := "data/" + name
		for k := range files {
			if path.Base(k) == name {
				key = k
			}
		}
		files[key] = []byte(content)
	}
	b, err := policy.LoadFiles(context.Background(), files, policy.Options{Regions: costing.DefaultRegions()})
	if err != nil {
		return nil, fmt.Errorf("loading the policy library with the scenario's data: %w", err)
	}
	w.bundleEdited = b
	return b, nil
}

// review builds an AdmissionReview for obj.
func (w *world) review(op string, obj, old map[string]any, dryRun bool) ([]byte, error) {
	w.seq++
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	meta, _ := obj["metadata"].(map[string]any)
	req := map[string]any{
		"uid":       "feature-" + strconv.Itoa(w.seq),
		"kind":      map[string]any{"group": group, "version": version, "kind": kind},
		"namespace": meta["namespace"], "name": meta["name"],
		"operation": op,
		"userInfo":  map[string]any{"username": w.user, "groups": w.groups},
		"object":    obj,
		"dryRun":    dryRun,
	}
	if old != nil {
		req["oldObject"] = old
	}
	body, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		return nil, fmt.Errorf("encoding the admission review: %w", err)
	}
	return body, nil
}

// post sends body to the handler as the API server would and keeps the
// reply.
func (w *world) post(body []byte, contentType string) error {
	rec := &recorder{}
	if w.logW != nil {
		rec.next = w.logW
	}
	h, err := w.handler(rec)
	if err != nil {
		return err
	}
	req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp := httptest.NewRecorder()
	h.ServeHTTP(resp, req)
	r := &reply{httpStatus: resp.Code}
	if err := json.Unmarshal(resp.Body.Bytes(), &r.review); err != nil {
		return fmt.Errorf("decoding the webhook's answer %q: %w", resp.Body.String(), err)
	}
	if r.review.Response == nil {
		return fmt.Errorf("the webhook's answer has no response: %s", resp.Body.String())
	}
	if len(rec.entries) > 0 {
		r.entry = rec.entries[len(rec.entries)-1]
	}
	w.last = r
	return nil
}

// admit sends obj (with old, for an UPDATE) and, when admitted, stores the
// object with its patch applied, as the API server would.
func (w *world) admit(op string, obj, old map[string]any, dryRun bool) error {
	if obj == nil {
		return errors.New("the scenario describes no object to admit")
	}
	body, err := w.review(op, obj, old, dryRun)
	if err != nil {
		return err
	}
	if err := w.post(body, "application/json"); err != nil {
		return err
	}
	resp := w.last.review.Response
	if !resp.Allowed || dryRun {
		return nil
	}
	stored, err := applyPatch(obj, resp.Patch)
	if err != nil {
		return err
	}
	w.stored = stored
	d, err := w.decision()
	if err != nil {
		return err
	}
	if d != nil && w.firstDecision == nil {
		w.firstDecision = d
	}
	return nil
}

// decision is the placement decision of the last request, from its log
// entry (kept for the record even when budget denied it).
func (w *world) decision() (*admission.Decision, error) {
	if w.last == nil || w.last.entry == nil || w.last.entry.Placement == nil {
		return nil, nil
	}
	var d admission.Decision
	if err := json.Unmarshal(w.last.entry.Placement, &d); err != nil {
		return nil, fmt.Errorf("decoding the decision log's placement: %w", err)
	}
	return &d, nil
}

// violations are the last request's reasons to deny.
func (w *world) violations() []admission.Violation {
	if w.last == nil || w.last.entry == nil {
		return nil
	}
	v, _ := w.last.entry.Violations.([]admission.Violation)
	return v
}

// storedDecision reads the decision annotation of the stored object.
func (w *world) storedDecision() (*admission.Decision, error) {
	if w.stored == nil {
		return nil, errors.New("nothing was admitted")
	}
	raw, _ := annotations(w.stored)[workload.AnnotationDecision].(string)
	if raw == "" {
		return nil, errors.New("the stored object has no decision annotation")
	}
	var d admission.Decision
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, fmt.Errorf("decoding the decision annotation: %w", err)
	}
	return &d, nil
}

// clone deep-copies a decoded JSON object.
func clone(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := maps.Clone(obj)
	for k, v := range out {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return clone(t)
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}
