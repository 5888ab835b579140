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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"io/fs"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
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

	catalog *costing.Catalog
	quotas  quota.GPUCounts
	usage   quota.GPUCounts
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

func (slowPolicy) Evaluate(ctx context.Context, _ *policy.Input) (*policy.Decision, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (slowPolicy) EvaluatePlaced(ctx context.Context, _ *policy.Input) (*policy.Decision, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// jurisdictions are the catalog's, the only residency values the extractor
// accepts (as qm eval and the webhook wire it).
func jurisdictions(c *costing.Catalog) []string {
	var out []string
	for _, r := range c.Regions().All() {
		if !slices.Contains(out, r.Jurisdiction) {
			out = append(out, r.Jurisdiction)
		}
	}
	return out
}

// evaluator wires the evaluator as qm and the webhook do: the extractor,
// the placer over the scenario's catalog and quotas, the policy bundle, and
// encryption evidence from the scenario's cluster state and inventory. It
// returns the cluster state the handler reads too.
func (w *world) evaluator() (*admission.Evaluator, *clusterState, error) {
	labels, err := workload.ResolveLabelKeys(w.labelProfile, nil)
	if err != nil {
		return nil, nil, err
	}
	x, err := workload.New(workload.Options{Jurisdictions: jurisdictions(w.catalog), Rules: workload.WithDefaultRules(nil), Labels: labels})
	if err != nil {
		return nil, nil, err
	}
	collector := &encryption.Collector{Jurisdictions: w.catalog.Regions()}
	state := &clusterState{usage: w.usage, own: w.ownUsage}
	var prov placement.Provisioner
	if len(w.clusterState) > 0 {
		// As the standalone webhook and qm eval read a cluster-state file:
		// storage, namespaces, and the Nodes and NodePools of the
		// provisionable filter (on when the file holds any).
		snap, err := clusterstate.ReadSnapshot(strings.NewReader(strings.Join(w.clusterState, "\n---\n")), nil)
		if err != nil {
			return nil, nil, fmt.Errorf("the scenario's cluster state: %w", err)
		}
		collector.Claims, state.ns = snap, snap
		if p, holds := snap.Provisioner(labels); holds {
			prov = p
		}
	}
	if len(w.inventory) > 0 {
		raw, err := yaml.Marshal(map[string]any{"datasets": w.inventory})
		if err != nil {
			return nil, nil, fmt.Errorf("encoding the scenario's inventory: %w", err)
		}
		inv, err := encryption.ReadInventory(bytes.NewReader(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("the scenario's inventory: %w", err)
		}
		collector.Datasets = inv
	}
	var engine admission.PolicyEngine = w.bundle
	if len(w.dataEdits) > 0 {
		b, err := w.editedBundle()
		if err != nil {
			return nil, nil, err
		}
		engine = b
	}
	if w.slowPolicy {
		engine = slowPolicy{}
	}
	placer := placement.New(w.catalog, w.quotas)
	if w.files != nil && w.files.catalog != "" {
		// As the webhook serves --catalog and --quota: the reloader's placer.
		p, err := w.reloader()
		if err != nil {
			return nil, nil, err
		}
		placer = p.Placer()
	}
	ev, err := admission.NewEvaluator(admission.Deps{Extractor: x, Placer: placer,
		Policy: engine, Evidence: collector, Provisioner: prov})
	if err != nil {
		return nil, nil, err
	}
	return ev, state, nil
}

// handler wires the mutating webhook handler over the evaluator, with the
// decision recorder.
func (w *world) handler(rec admission.DecisionRecorder) (*admission.Handler, error) {
	ev, state, err := w.evaluator()
	if err != nil {
		return nil, err
	}
	return admission.NewHandler(admission.HandlerOptions{
		Mode: w.mode, Evaluator: ev, State: state, Log: rec,
		Deadline: w.deadline, OnDeadline: w.onDeadline, PolicyRevision: w.bundle.Revision,
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
	b, err := policy.LoadFiles(context.Background(), files, policy.Options{Regions: w.catalog.Regions()})
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
	if d := w.decision(); d != nil && w.firstDecision == nil {
		w.firstDecision = d
	}
	return nil
}

// decision is the placement decision of the last request, from its log
// entry (kept for the record even when budget denied it).
func (w *world) decision() *admission.Decision {
	if w.last == nil || w.last.entry == nil {
		return nil
	}
	d, _ := w.last.entry.Placement.(*admission.Decision)
	return d
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
