package openreports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// API selects the report resources written.
type API string

// The report APIs.
const (
	// OpenReports is openreports.io/v1alpha1 Report and ClusterReport
	// (charts/quartermaster/crds).
	OpenReports API = "openreports.io/v1alpha1"
	// PolicyReport is wgpolicyk8s.io/v1alpha2 PolicyReport and
	// ClusterPolicyReport, for consumers that have not moved to
	// OpenReports (their CRDs come with Kyverno or the policy-reporter).
	PolicyReport API = "wgpolicyk8s.io/v1alpha2"
)

// kinds are the namespaced and cluster-scoped report kinds of an API.
func (a API) kinds() (namespaced, cluster string) {
	if a == PolicyReport {
		return "PolicyReport", "ClusterPolicyReport"
	}
	return "Report", "ClusterReport"
}

// Names, labels and annotations of what the writer creates.
const (
	// FieldManager owns every field the writer applies.
	FieldManager = "quartermaster-auditor"
	// ReportName is the name of the one report per namespace; the cluster
	// report of a run is ReportName-<hash of the run ID>.
	ReportName = "quartermaster"
	// LabelManagedBy marks the writer's objects.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelRun carries a short hash of the run that wrote an object.
	LabelRun = "quartermaster.io/audit-run"
	// AnnotationRun is the run's own ID.
	AnnotationRun = "quartermaster.io/audit-run-id"
	// AnnotationFullReport says where the whole report.json is, on a report
	// whose results were cut.
	AnnotationFullReport = "quartermaster.io/full-report"
	// AnnotationTotal is the number of results before the cut.
	AnnotationTotal = "quartermaster.io/results-total"
)

// Bounds of a report object.
const (
	// DefaultMaxResults is Kyverno's reportsChunkSize: past it, a report is
	// more than anyone reads in a terminal.
	DefaultMaxResults = 1000
	// DefaultMaxBytes keeps a report object at a quarter of etcd's default
	// 1.5 MiB request limit ("etcdserver: request is too large" is how
	// Kyverno's and Trivy's reports failed: kyverno#2674, trivy-operator#441).
	DefaultMaxBytes = 256 << 10
	// listPage is the page size of the writer's own lists.
	listPage = 500
)

// Config configures a Writer.
type Config struct {
	// Client writes into the cluster the findings are of. Required.
	Client client.Client
	// API is the report API; "" means OpenReports.
	API API
	// Account keeps the findings of one account, the kubeconfig context (or
	// in-cluster) the client points at; "" keeps every finding with a
	// namespace, for an audit of one cluster.
	Account string
	// MaxResults and MaxBytes bound each report; 0 means the defaults.
	MaxResults, MaxBytes int
	// Warnings adds info findings as warn results; by default a report
	// holds failures only.
	Warnings bool
	// FullReport is where readers find the whole report.json (a URL or a
	// path), named on every report whose results were cut.
	FullReport string
	Log        *slog.Logger
}

// Writer writes the Kubernetes findings of an audit run as report
// resources: one per namespace, and one cluster report for the findings
// on nodes.
type Writer struct {
	cfg Config
}

// NewWriter checks and defaults cfg.
func NewWriter(cfg Config) (*Writer, error) {
	if cfg.Client == nil {
		return nil, errors.New("openreports: no client")
	}
	switch cfg.API {
	case "":
		cfg.API = OpenReports
	case OpenReports, PolicyReport:
	default:
		return nil, fmt.Errorf("openreports: API %q: want %s or %s", cfg.API, OpenReports, PolicyReport)
	}
	if cfg.MaxResults < 0 || cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("openreports: maxResults %d, maxBytes %d: want positive numbers (0 means the defaults)", cfg.MaxResults, cfg.MaxBytes)
	}
	if cfg.MaxResults == 0 {
		cfg.MaxResults = DefaultMaxResults
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBytes < 2*bodyOverhead {
		return nil, fmt.Errorf("openreports: maxBytes %d: want at least %d", cfg.MaxBytes, 2*bodyOverhead)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Writer{cfg: cfg}, nil
}

// Run identifies the audit run whose findings are written.
type Run struct {
	ID   string
	Time time.Time
}

// Written is one report the writer applied.
type Written struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Results   int    `json:"results"`
	// Total counts the findings of the report's scope, Results the ones it
	// holds; they differ when the report was cut.
	Total int  `json:"total"`
	Cut   bool `json:"cut,omitempty"`
}

// Outcome is what one Write did.
type Outcome struct {
	// Reports are the namespaces' reports, then the run's cluster report.
	Reports []Written `json:"reports"`
	// Retired counts the earlier runs' cluster reports deleted: the
	// garbage collector then deletes the reports of namespaces that have
	// no findings any more.
	Retired int `json:"retired"`
}

// Write applies this run's reports and retires the earlier runs'. The
// run's cluster report (ClusterReport quartermaster-<hash of the run ID>,
// holding the findings on nodes, or none) is applied first, and every
// namespace's report is applied owned by it; then the cluster reports of
// every other run are deleted, and the API server's garbage collector
// deletes the namespaces' reports that only they owned: those of
// namespaces with no findings left (a namespaced object may have a
// cluster-scoped owner). A run that fails midway retires nothing, so the
// last complete run's reports stay until one completes.
func (w *Writer) Write(ctx context.Context, run Run, findings []audit.Finding) (*Outcome, error) {
	if run.ID == "" {
		return nil, errors.New("openreports: run without an ID")
	}
	sum := sha256.Sum256([]byte(run.ID))
	hash := hex.EncodeToString(sum[:6])
	byNamespace := map[string][]*audit.Finding{}
	var cluster []*audit.Finding
	for i := range findings {
		f := &findings[i]
		if w.cfg.Account != "" && f.Account != w.cfg.Account {
			continue
		}
		ref, kind := refOf(f)
		switch {
		case f.Namespace != "":
			byNamespace[f.Namespace] = append(byNamespace[f.Namespace], f)
		case kind == inventory.KindNamespace:
			byNamespace[ref.Name] = append(byNamespace[ref.Name], f)
		case kind == inventory.KindNode:
			cluster = append(cluster, f)
		}
	}
	var kept []*audit.Finding
	for _, fs := range byNamespace {
		kept = append(kept, fs...)
	}
	shared := sharedRemediations(append(kept, cluster...))
	out := &Outcome{}
	owner, clusterReport, err := w.applyCluster(ctx, run, hash, cluster, shared)
	if err != nil {
		return out, err
	}
	for _, ns := range slices.Sorted(maps.Keys(byNamespace)) {
		written, err := w.applyNamespace(ctx, run, hash, ns, byNamespace[ns], owner, shared)
		if err != nil {
			return out, err
		}
		if written != nil {
			out.Reports = append(out.Reports, *written)
		}
	}
	out.Reports = append(out.Reports, clusterReport)
	n, err := w.retire(ctx, hash)
	out.Retired = n
	if err != nil {
		return out, err
	}
	w.cfg.Log.Info("reports written", "api", w.cfg.API, "reports", len(out.Reports), "retired", n)
	return out, nil
}

// apply server-side applies obj as the writer's field manager, taking
// over fields another manager set (the writer owns its reports whole).
func (w *Writer) apply(ctx context.Context, obj map[string]any) error {
	u := &unstructured.Unstructured{Object: obj}
	err := w.cfg.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
	if meta.IsNoMatchError(err) {
		return fmt.Errorf("applying %s %s/%s: the %s CRDs are not installed (charts/quartermaster/crds): %w",
			u.GetKind(), u.GetNamespace(), u.GetName(), u.GroupVersionKind().Group, err)
	}
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return w.compact(ctx, obj)
}

// report is one report object. The run's cluster report carries the run
// (its ID, the label retire selects on, and where report.json is) for
// every namespace report it owns, which do not repeat it: a namespace
// report says only what is its own, and that it was cut.
func (w *Writer) report(kind, ns, name, hash string, run Run, b Body, cut bool, total int) (map[string]any, error) {
	body, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&b)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s report: %w", ns, err)
	}
	annotations := map[string]any{}
	labels := map[string]any{LabelManagedBy: FieldManager}
	if ns == "" {
		labels[LabelRun] = hash
		annotations[AnnotationRun] = run.ID
	}
	if cut {
		annotations[AnnotationTotal] = strconv.Itoa(total)
	}
	if w.cfg.FullReport != "" && (cut || ns == "") {
		annotations[AnnotationFullReport] = w.cfg.FullReport
	}
	md := map[string]any{"name": name, "labels": labels}
	if len(annotations) > 0 {
		md["annotations"] = annotations
	}
	if ns != "" {
		md["namespace"] = ns
	}
	body["apiVersion"], body["kind"], body["metadata"] = string(w.cfg.API), kind, md
	return body, nil
}

// sometimes are the labels and annotations the writer sets on some
// reports only, which compact removes where this run's apply did not set
// them.
var sometimes = struct{ labels, annotations []string }{
	labels:      []string{LabelRun},
	annotations: []string{AnnotationRun, AnnotationTotal, AnnotationFullReport},
}

// compact follows the apply of obj with a JSON merge patch that drops the
// object's managed fields (managedFields: [{}], the API server's reset):
// server-side apply records which manager owns every field, about 600
// bytes a report, 30% of a small one, of no use to anyone but the writer,
// which owns the reports whole. The patch also sets what the apply cannot
// take away once nothing records that the writer set it: the owner
// references (only this run's cluster report), and the labels,
// annotations and scope the writer sets only sometimes, removed unless
// set now.
func (w *Writer) compact(ctx context.Context, obj map[string]any) error {
	md := obj["metadata"].(map[string]any)
	labels, annotations := map[string]any{}, map[string]any{}
	for _, k := range sometimes.labels {
		labels[k] = nil
	}
	for _, k := range sometimes.annotations {
		annotations[k] = nil
	}
	if l, ok := md["labels"].(map[string]any); ok {
		maps.Copy(labels, l)
	}
	if a, ok := md["annotations"].(map[string]any); ok {
		maps.Copy(annotations, a)
	}
	owners, ok := md["ownerReferences"]
	if !ok {
		owners = nil
	}
	patch := map[string]any{"metadata": map[string]any{"managedFields": []any{map[string]any{}}, "labels": labels,
		"annotations": annotations, "ownerReferences": owners}, "scope": obj["scope"]}
	raw, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encoding the patch of %s %s: %w", obj["kind"], md["name"], err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": map[string]any{}}}
	u.SetName(md["name"].(string))
	if ns, ok := md["namespace"].(string); ok {
		u.SetNamespace(ns)
	}
	if err := w.cfg.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("compacting %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// applyNamespace writes one namespace's report, owned by the run's
// cluster report. A namespace being deleted (or already gone) is skipped:
// its findings are about objects that are going away.
func (w *Writer) applyNamespace(ctx context.Context, run Run, hash, ns string, fs []*audit.Finding, owner map[string]any, shared map[string]string) (*Written, error) {
	// No scope: a namespace's report is about the namespace it is in
	// (metadata.namespace says which), as wgpolicyk8s' namespace reports
	// were; a scope names one resource a report is about.
	b, cut := build(fs, nil, run.Time, w.cfg.MaxResults, w.cfg.MaxBytes,
		w.cfg.Warnings, w.cfg.API == PolicyReport, shared)
	total := b.Summary.Fail + b.Summary.Warn
	if total == 0 {
		return nil, nil // only warnings, and warnings are not written
	}
	kind, _ := w.cfg.API.kinds()
	obj, err := w.report(kind, ns, ReportName, hash, run, b, cut, total)
	if err != nil {
		return nil, err
	}
	obj["metadata"].(map[string]any)["ownerReferences"] = []any{owner}
	if err := w.apply(ctx, obj); err != nil {
		if isNamespaceGone(err) {
			w.cfg.Log.Info("namespace gone or terminating, its report skipped", "namespace", ns)
			return nil, nil
		}
		return nil, err
	}
	return &Written{Namespace: ns, Name: ReportName, Results: len(b.Results), Total: total, Cut: cut}, nil
}

// isNamespaceGone is the API server's answer for a write into a namespace
// that is terminating or does not exist.
func isNamespaceGone(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) ||
		(apierrors.IsNotFound(err) && strings.Contains(err.Error(), "namespaces"))
}

// applyCluster writes the run's cluster report, with the findings on
// nodes or none, and returns the owner reference the namespaces' reports
// carry to it.
func (w *Writer) applyCluster(ctx context.Context, run Run, hash string, fs []*audit.Finding, shared map[string]string) (map[string]any, Written, error) {
	_, kind := w.cfg.API.kinds()
	name := ReportName + "-" + hash
	b, cut := build(fs, nil, run.Time, w.cfg.MaxResults, w.cfg.MaxBytes, w.cfg.Warnings, w.cfg.API == PolicyReport, shared)
	total := b.Summary.Fail + b.Summary.Warn
	obj, err := w.report(kind, "", name, hash, run, b, cut, total)
	if err != nil {
		return nil, Written{}, err
	}
	md := obj["metadata"].(map[string]any)
	for code, rem := range shared {
		md["annotations"].(map[string]any)[AnnotationRemediation+code] = rem
	}
	if err := w.apply(ctx, obj); err != nil {
		return nil, Written{}, err
	}
	var m metav1.PartialObjectMetadata
	m.SetGroupVersionKind(schema.FromAPIVersionAndKind(string(w.cfg.API), kind))
	if err := w.cfg.Client.Get(ctx, client.ObjectKey{Name: name}, &m); err != nil {
		return nil, Written{}, fmt.Errorf("reading back the %s %s: %w", kind, name, err)
	}
	owner := map[string]any{"apiVersion": string(w.cfg.API), "kind": kind, "name": name, "uid": string(m.UID)}
	return owner, Written{Name: name, Results: len(b.Results), Total: total, Cut: cut}, nil
}

// retire deletes the cluster reports of every other run, a page at a
// time; the garbage collector deletes the namespaces' reports they alone
// own.
func (w *Writer) retire(ctx context.Context, hash string) (int, error) {
	_, kind := w.cfg.API.kinds()
	managed, _ := labels.NewRequirement(LabelManagedBy, selection.Equals, []string{FieldManager})
	other, _ := labels.NewRequirement(LabelRun, selection.NotEquals, []string{hash})
	exists, _ := labels.NewRequirement(LabelRun, selection.Exists, nil)
	sel := labels.NewSelector().Add(*managed, *exists, *other)
	n, cont := 0, ""
	for {
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(schema.FromAPIVersionAndKind(string(w.cfg.API), kind+"List"))
		opts := []client.ListOption{client.MatchingLabelsSelector{Selector: sel}, client.Limit(listPage)}
		if cont != "" {
			opts = append(opts, client.Continue(cont))
		}
		if err := w.cfg.Client.List(ctx, &list, opts...); err != nil {
			return n, fmt.Errorf("listing earlier runs' %ss: %w", kind, err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			m.SetGroupVersionKind(schema.FromAPIVersionAndKind(string(w.cfg.API), kind))
			err := w.cfg.Client.Delete(ctx, m, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) {
				return n, fmt.Errorf("deleting the %s %s of an earlier run: %w", kind, m.Name, err)
			}
			n++
		}
		if cont = list.Continue; cont == "" {
			return n, nil
		}
	}
}
