package openreports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// The report objects, as the OpenReports CRDs (openreports.io/v1alpha1,
// github.com/openreports/reports-api) and their predecessors
// (wgpolicyk8s.io/v1alpha2) define them: the two APIs share the shape, and
// differ in kind names and in the severities v1alpha2 accepts.

// ObjectRef is a corev1.ObjectReference as the reports carry it.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Timestamp is a metav1.Timestamp; both fields are required by the CRDs.
type Timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

// Result is one finding as a report result. The writer leaves Source
// empty: the report's own source names every result's (a report holds
// Quartermaster's results only), 25 bytes a result saved.
type Result struct {
	Source    string      `json:"source,omitempty"`
	Policy    string      `json:"policy"`
	Rule      string      `json:"rule,omitempty"`
	Category  string      `json:"category,omitempty"`
	Severity  string      `json:"severity,omitempty"`
	Timestamp Timestamp   `json:"timestamp"`
	Result    string      `json:"result"`
	Resources []ObjectRef `json:"resources,omitempty"`
	Message   string      `json:"message,omitempty"`
	// Properties hold findingId, monthlyCost (USD, two decimals) and
	// remediation, when the finding has them.
	Properties map[string]string `json:"properties,omitempty"`
}

// Summary counts results by outcome. A count of zero is left out (the
// CRDs' fields are optional, and a reader takes a missing count as 0):
// the writer has only failures and warnings to count.
type Summary struct {
	Pass  int `json:"pass,omitempty"`
	Fail  int `json:"fail,omitempty"`
	Warn  int `json:"warn,omitempty"`
	Error int `json:"error,omitempty"`
	Skip  int `json:"skip,omitempty"`
}

// Limits is the report's configuration.limits: the contract between a
// report's writer and its readers about what was left out.
type Limits struct {
	MaxResults   int      `json:"maxResults"`
	StatusFilter []string `json:"statusFilter,omitempty"`
}

// Configuration is the report's configuration.
type Configuration struct {
	Limits Limits `json:"limits"`
}

// Body is everything of a report object but its type and metadata.
type Body struct {
	Source        string         `json:"source"`
	Scope         *ObjectRef     `json:"scope,omitempty"`
	Configuration *Configuration `json:"configuration,omitempty"`
	Summary       Summary        `json:"summary"`
	Results       []Result       `json:"results"`
}

// Source names Quartermaster in reports and results.
const Source = "quartermaster"

// Results' outcomes.
const (
	ResultFail = "fail"
	ResultWarn = "warn"
)

// outcome is a finding's result: an info finding is a warning (nothing to
// fix, something to know), anything more severe a failure.
func outcome(f *audit.Finding) string {
	if f.Severity == policy.SeverityInfo {
		return ResultWarn
	}
	return ResultFail
}

// kindRefs maps the inventory's kinds onto the API kinds they stand for.
// A Workload's own kind (Deployment, PyTorchJob, ...) is not in the
// finding, so its reference names no kind: the result's name and
// namespace still find it, and properties.resource says the rest.
var kindRefs = map[inventory.Kind]ObjectRef{
	inventory.KindPod:            {APIVersion: "v1", Kind: "Pod"},
	inventory.KindNode:           {APIVersion: "v1", Kind: "Node"},
	inventory.KindNamespace:      {APIVersion: "v1", Kind: "Namespace"},
	inventory.KindVolumeClaim:    {APIVersion: "v1", Kind: "PersistentVolumeClaim"},
	inventory.KindVolumeSnapshot: {APIVersion: "snapshot.storage.k8s.io/v1", Kind: "VolumeSnapshot"},
}

// refOf reads a finding's resource, "Kind id" with id namespace/name or
// name, as an object reference.
func refOf(f *audit.Finding) (ObjectRef, inventory.Kind) {
	kind, id, _ := strings.Cut(f.Resource, " ")
	k := inventory.Kind(kind)
	ref := kindRefs[k]
	if ns, name, ok := strings.Cut(id, "/"); ok {
		ref.Namespace, ref.Name = ns, name
	} else {
		ref.Name = id
	}
	return ref, k
}

// maxMessageBytes bounds a result's message (and remediation): a report
// is read in a terminal, and a runaway message must not crowd out other
// results (Gatekeeper truncates its violation messages likewise).
const maxMessageBytes = 512

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// AnnotationRemediation prefixes the run's cluster report's annotations
// remediation.quartermaster.io/<rule>: the remediation that every finding
// of the rule shares (every check's and audit policy's is one sentence
// per rule), kept there once rather than on each result, where it would
// be the largest property of all, repeated in every report.
const AnnotationRemediation = "remediation.quartermaster.io/"

// maxSharedBytes bounds the shared remediations on the cluster report,
// far under the API server's 256 KiB of annotations.
const maxSharedBytes = 64 << 10

// sharedRemediations are the remediations kept once, by rule: those of
// each rule whose findings all have one and the same remediation, and
// whose code makes a valid annotation key. A rule whose remediation varies
// (a Rego rule may write it per resource) keeps it on each result.
func sharedRemediations(fs []*audit.Finding) map[string]string {
	byRule, varies := map[string]string{}, map[string]bool{}
	for _, f := range fs {
		rem := truncate(f.Remediation, maxMessageBytes)
		if prev, seen := byRule[f.Code]; seen && prev != rem || rem == "" {
			varies[f.Code] = true
		}
		byRule[f.Code] = rem
	}
	shared, size := map[string]string{}, 0
	for _, code := range slices.Sorted(maps.Keys(byRule)) {
		rem := byRule[code]
		if varies[code] || len(validation.IsQualifiedName(AnnotationRemediation+code)) > 0 || size+len(code)+len(rem) > maxSharedBytes {
			continue
		}
		shared[code] = rem
		size += len(code) + len(rem)
	}
	return shared
}

// result is a finding as a report result; shared are the remediations
// kept on the run's cluster report, left out here.
func result(f *audit.Finding, at time.Time, legacy bool, shared map[string]string) Result {
	ref, kind := refOf(f)
	r := Result{Policy: f.Policy, Rule: f.Code, Category: f.Category, Severity: f.Severity,
		Timestamp: Timestamp{Seconds: at.Unix()}, Result: outcome(f), Resources: []ObjectRef{ref},
		Message: truncate(f.Message, maxMessageBytes), Properties: map[string]string{"findingId": f.ID}}
	if legacy {
		// wgpolicyk8s.io/v1alpha2 accepts high, medium and low only.
		switch r.Severity {
		case policy.SeverityCritical:
			r.Severity = policy.SeverityHigh
		case policy.SeverityInfo:
			r.Severity = policy.SeverityLow
		}
	}
	if ref.Kind == "" {
		r.Properties["resource"] = string(kind) + " " + ref.Namespace + "/" + ref.Name
	}
	if f.MonthlyCost > 0 {
		r.Properties["monthlyCost"] = strconv.FormatFloat(f.MonthlyCost, 'f', 2, 64)
	}
	if rem := truncate(f.Remediation, maxMessageBytes); rem != "" && shared[f.Code] != rem {
		r.Properties["remediation"] = rem
	}
	return r
}

// order sorts findings as report.json does: most severe first, then the
// most costly, then by category, resource and code, so that a cut report
// keeps what matters most, the same way every run.
func order(fs []*audit.Finding) {
	rank := func(s string) int {
		if i := slices.Index(policy.Severities, s); i >= 0 {
			return i
		}
		return len(policy.Severities)
	}
	slices.SortStableFunc(fs, func(a, b *audit.Finding) int {
		if d := rank(a.Severity) - rank(b.Severity); d != 0 {
			return d
		}
		if c := cmp.Compare(b.MonthlyCost, a.MonthlyCost); c != 0 {
			return c
		}
		return strings.Compare(a.Category+"\x00"+a.Resource+"\x00"+a.Code, b.Category+"\x00"+b.Resource+"\x00"+b.Code)
	})
}

// bodyOverhead is what a report object holds besides its results
// (metadata with managed fields and owner reference, summary, scope,
// configuration), kept free under the byte bound.
const bodyOverhead = 4 << 10

// build makes one report's body from its findings (sorted here): every
// finding counts in the summary; results keep the most severe and costly
// first, up to maxResults and maxBytes of encoded results. cut reports
// whether results were left out.
func build(fs []*audit.Finding, scope *ObjectRef, at time.Time, maxResults, maxBytes int, warnings, legacy bool, shared map[string]string) (b Body, cut bool) {
	order(fs)
	b = Body{Source: Source, Scope: scope, Results: []Result{}}
	filter := []string{ResultFail}
	if warnings {
		filter = append(filter, ResultWarn)
	}
	b.Configuration = &Configuration{Limits: Limits{MaxResults: maxResults, StatusFilter: filter}}
	size := bodyOverhead
	for _, f := range fs {
		r := result(f, at, legacy, shared)
		if !slices.Contains(filter, r.Result) {
			continue
		}
		if r.Result == ResultFail {
			b.Summary.Fail++
		} else {
			b.Summary.Warn++
		}
		if cut || len(b.Results) >= maxResults {
			cut = true
			continue
		}
		raw, err := json.Marshal(r)
		if err != nil {
			panic(fmt.Sprintf("encoding a report result: %v", err)) // plain strings and numbers: cannot fail
		}
		if size+len(raw)+1 > maxBytes {
			cut = true
			continue
		}
		size += len(raw) + 1
		b.Results = append(b.Results, r)
	}
	return b, cut
}
