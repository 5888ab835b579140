package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

func newTestEvaluator(t testing.TB) *Evaluator {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	x, err := workload.New(workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(Deps{Extractor: x, Placer: placement.New(cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// recorder is a DecisionRecorder that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	Entries []*decisionlog.Entry
}

func (r *recorder) Record(e *decisionlog.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Entries = append(r.Entries, e)
	return nil
}

// staticState is a ClusterState with fixed answers.
type staticState struct {
	labels map[string]map[string]string
	usage  quota.GPUCounts
}

func (s staticState) NamespaceLabels(ns string) map[string]string { return s.labels[ns] }
func (s staticState) GPUUsage() quota.GPUCounts                   { return s.usage }
func (s staticState) OwnerUsage(string, string, string) quota.GPUCounts {
	return nil
}

func newTestHandler(t testing.TB, o HandlerOptions) *Handler {
	t.Helper()
	if o.Evaluator == nil {
		o.Evaluator = newTestEvaluator(t)
	}
	o.Now = func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }
	h, err := NewHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// reviewOption changes the request of a test AdmissionReview.
type reviewOption func(req map[string]any)

func withOperation(op string) reviewOption {
	return func(req map[string]any) { req["operation"] = op }
}
func withDryRun() reviewOption { return func(req map[string]any) { req["dryRun"] = true } }

// withOnlyOldObject moves the object to oldObject, as a malformed CREATE.
func withOnlyOldObject() reviewOption {
	return func(req map[string]any) { req["oldObject"] = req["object"]; delete(req, "object") }
}

// review builds an AdmissionReview for obj as the API server sends it.
func review(t testing.TB, uid string, obj map[string]any, opts ...reviewOption) []byte {
	t.Helper()
	apiVersion, _ := obj["apiVersion"].(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	meta, _ := obj["metadata"].(map[string]any)
	req := map[string]any{
		"uid":       uid,
		"kind":      map[string]any{"group": group, "version": version, "kind": obj["kind"]},
		"resource":  map[string]any{"group": group, "version": version, "resource": strings.ToLower(obj["kind"].(string)) + "s"},
		"namespace": meta["namespace"],
		"name":      meta["name"],
		"operation": "CREATE",
		"userInfo":  map[string]any{"username": "alice@example.com", "groups": []any{"ml-engineers", "system:authenticated"}},
		"object":    obj,
		"dryRun":    false,
	}
	for _, o := range opts {
		o(req)
	}
	js, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func example(t testing.TB, file string) map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "examples", "workloads", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := workload.DecodeManifests(f)
	if err != nil || len(docs) != 1 {
		t.Fatalf("decoding %s: %v (%d documents)", file, err, len(docs))
	}
	return docs[0].Object
}

func plainPod() map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web-7f9", "namespace": "shop", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27",
			"resources": map[string]any{"requests": map[string]any{"cpu": "250m", "memory": "256Mi"}}}}},
	}
}

func post(t testing.TB, h http.Handler, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHTTPFailureModes pins the exact responses to requests that cannot be
// judged: the API server shows these messages to users and operators.
func TestHTTPFailureModes(t *testing.T) {
	h := newTestHandler(t, HandlerOptions{MaxBodyBytes: 1024})
	tests := map[string]struct {
		method, contentType string
		body                []byte
		wantCode            int
		wantBody            string
	}{
		"empty body": {
			contentType: "application/json",
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is empty: want an AdmissionReview"}}}`,
		},
		"whitespace body": {
			contentType: "application/json",
			body:        []byte(" \n"),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is empty: want an AdmissionReview"}}}`,
		},
		"oversized body": {
			contentType: "application/json",
			body:        bytes.Repeat([]byte(" "), 1025),
			wantCode:    413,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":413,"reason":"Request Entity Too Large","message":"request body is larger than 1024 bytes"}}}`,
		},
		"wrong content type": {
			contentType: "application/yaml",
			body:        []byte(`{}`),
			wantCode:    415,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":415,"reason":"Unsupported Media Type","message":"content type \"application/yaml\": want application/json"}}}`,
		},
		"missing content type": {
			body:     []byte(`{}`),
			wantCode: 415,
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":415,"reason":"Unsupported Media Type","message":"content type \"\": want application/json"}}}`,
		},
		"content type with charset is fine, malformed JSON is not": {
			contentType: "application/json; charset=utf-8",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1",`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is not an AdmissionReview: malformed JSON at byte 36: unexpected end of JSON input"}}}`,
		},
		"malformed JSON": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion": admission}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is not an AdmissionReview: malformed JSON at byte 16: invalid character 'a' looking for beginning of value"}}}`,
		},
		"wrong JSON type": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":42}}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is not an AdmissionReview: field request.uid has JSON type number, want string"}}}`,
		},
		"not an AdmissionReview": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"v1","kind":"Pod"}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"kind \"Pod\": want AdmissionReview"}}}`,
		},
		"v1beta1 review": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"apiVersion \"admission.k8s.io/v1beta1\": want admission.k8s.io/v1 (set admissionReviewVersions: [v1])"}}}`,
		},
		"no request": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"AdmissionReview has no request"}}}`,
		},
		"no uid": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`),
			wantCode:    400,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"AdmissionReview request has no uid"}}}`,
		},
		"GET": {
			method:   http.MethodGet,
			wantCode: 405,
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":405,"reason":"Method Not Allowed","message":"method GET: want POST"}}}`,
		},
		"GPU review without object": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u2","operation":"CREATE","oldObject":{"x":"nvidia.com/gpu"}}}`),
			wantCode:    200,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u2","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"CREATE request has no object"}}}`,
		},
		"GPU object that is not an object": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3","operation":"CREATE","object":["nvidia.com/gpu"]}}`),
			wantCode:    200,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u3","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request body is not an AdmissionReview: field request.object has JSON type array, want map[string]interface {}"}}}`,
		},
		"GPU object of an unknown kind is allowed untouched": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u4","operation":"CREATE","object":{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"gpu":"nvidia.com/gpu"}}}}`),
			wantCode:    200,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u4","allowed":true}}`,
		},
		"GPU object without kind is a bad request": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u5","operation":"CREATE","object":{"metadata":{"name":"w","annotations":{"a":"nvidia.com/gpu"}}}}}`),
			wantCode:    200,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u5","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"request object has no kind"}}}`,
		},
		"DELETE is allowed": {
			contentType: "application/json",
			body:        []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u6","operation":"DELETE","oldObject":{"kind":"Pod","x":"nvidia.com/gpu"}}}`),
			wantCode:    200,
			wantBody:    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u6","allowed":true}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/mutate", bytes.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Errorf("status %d, want %d", w.Code, tc.wantCode)
			}
			if got := w.Body.String(); got != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tc.wantBody)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestFastPathAllowsNonGPUPods(t *testing.T) {
	rec := &recorder{}
	h := newTestHandler(t, HandlerOptions{Log: rec})
	tests := map[string]struct {
		uid  string
		want string
	}{
		"uuid":               {"705ab4f5-6393-11e8-b7cc-42010a800002", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}}`},
		"uid needing escape": {`a"b<c`, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"a\"b\u003cc","allowed":true}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := post(t, h, "application/json", review(t, tc.uid, plainPod()))
			if w.Code != 200 || w.Body.String() != tc.want {
				t.Fatalf("got %d %s\nwant 200 %s", w.Code, w.Body.String(), tc.want)
			}
		})
	}
	if len(rec.Entries) != 0 {
		t.Errorf("non-GPU objects are not decisions, got %d log entries", len(rec.Entries))
	}
}

// TestMutateGolden runs the example workloads through /mutate and compares
// the patches with testdata/*.golden (go test -update rewrites them).
func TestMutateGolden(t *testing.T) {
	tests := map[string]struct {
		file       string
		wantResult string
	}{
		"pytorchjob":         {"01-pytorchjob-llm-pretrain.yaml", "patched"},
		"raycluster":         {"02-raycluster-finetune.yaml", "patched"},
		"deployment-l4":      {"03-inference-deployment-l4.yaml", "patched"},
		"cronjob":            {"04-cronjob-nightly-eval.yaml", "patched"},
		"spot-job":           {"06-spot-training-job.yaml", "patched"},
		"mig-job":            {"07-mig-notebook-job.yaml", "patched"},
		"pinned-statefulset": {"09-pinned-statefulset.yaml", "patched"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, HandlerOptions{Log: rec, PolicyRevision: func() string { return "rev-7" }})
			obj := example(t, tc.file)
			w := post(t, h, "application/json", review(t, "uid-"+name, obj))
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var got reviewOut
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			resp := got.Response
			if resp.UID != "uid-"+name || !resp.Allowed || resp.PatchType != "JSONPatch" || resp.Status != nil {
				t.Fatalf("response %+v", resp)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, resp.Patch, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "mutate-"+name+".golden")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if pretty.String() != string(want) {
				t.Errorf("patch differs from %s:\n%s", golden, pretty.String())
			}
			if len(rec.Entries) != 1 {
				t.Fatalf("want 1 decision log entry, got %d", len(rec.Entries))
			}
			e := rec.Entries[0]
			if e.ID != "uid-"+name+"/mutate" || e.UID != "uid-"+name || e.User != "alice@example.com" || e.Decision != tc.wantResult ||
				e.Verb != "CREATE" || e.PolicyRevision != "rev-7" || e.Placement == nil || !e.Time.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("log entry %+v", e)
			}

			// Reinvocation (reinvocationPolicy: IfNeeded) and the validating
			// webhook both see the patched object: no further change, and
			// validation allows it without warnings.
			patched := applyRawPatch(t, obj, resp.Patch)
			w2 := post(t, h, "application/json", review(t, "uid-"+name+"-again", patched))
			// The same warnings as the first call (the L4 example's latency
			// objective is out of reach), nothing else.
			warnings := ""
			if len(resp.Warnings) > 0 {
				js, _ := json.Marshal(resp.Warnings)
				warnings = `,"warnings":` + string(js)
			}
			want2 := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"uid-` + name + `-again","allowed":true` + warnings + `}}`
			if w2.Body.String() != want2 {
				t.Errorf("reinvocation:\n got %s\nwant %s", w2.Body, want2)
			}
			v := newTestHandler(t, HandlerOptions{Mode: Validate})
			w3 := post(t, v, "application/json", review(t, "uid-v", patched))
			want3 := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"uid-v","allowed":true}}`
			if w3.Body.String() != want3 {
				t.Errorf("validate:\n got %s\nwant %s", w3.Body, want3)
			}
		})
	}
}

func TestDecisions(t *testing.T) {
	spot := example(t, "06-spot-training-job.yaml")
	bad := example(t, "06-spot-training-job.yaml")
	bad["metadata"].(map[string]any)["annotations"].(map[string]any)["quartermaster.io/expected-duration"] = "soon"
	tests := map[string]struct {
		mode      Mode
		body      []byte
		deadline  time.Duration
		onDead    DeadlineOutcome
		evaluator *Evaluator
		wantBody  string
		wantLog   []string // decision of each log entry
	}{
		"dry run patches but records nothing": {
			body:     review(t, "d1", spot, withDryRun()),
			wantBody: "",
		},
		"invalid annotation is denied with its code": {
			body:     review(t, "d2", bad),
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d2","allowed":false,"status":{"code":403,"reason":"Forbidden","message":"invalid-annotation: annotation quartermaster.io/expected-duration: value \"soon\" is invalid: want a positive Go duration such as 90m or 36h"}}}`,
			wantLog:  []string{"denied"},
		},
		"validate warns about an unplaced GPU object": {
			mode:     Validate,
			body:     review(t, "d3", spot),
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d3","allowed":true,"warnings":["quartermaster: this object's placement does not match a Quartermaster decision (was the mutating webhook skipped, or the placement edited?)"]}}`,
			wantLog:  []string{"allowed"},
		},
		"missed deadline denies by default": {
			body:     review(t, "d4", spot),
			deadline: time.Nanosecond,
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d4","allowed":false,"status":{"code":503,"reason":"ServiceUnavailable","message":"quartermaster made no decision within 1ns; please retry"}}}`,
			wantLog:  []string{"errored"},
		},
		"missed deadline may allow": {
			body:     review(t, "d5", spot),
			deadline: time.Nanosecond,
			onDead:   OutcomeAllow,
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d5","allowed":true,"warnings":["quartermaster made no decision within 1ns; admitted without placement (the audit will report it)"]}}`,
			wantLog:  []string{"allowed"},
		},
		"panicking evaluator is recovered": {
			body:      review(t, "d6", spot),
			evaluator: &Evaluator{extractor: mustExtractor(t)}, // no placer: Place panics
			wantBody:  `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d6","allowed":false,"status":{"code":503,"reason":"ServiceUnavailable","message":"quartermaster could not decide: evaluator panicked: runtime error: invalid memory address or nil pointer dereference; please retry"}}}`,
			wantLog:   []string{"errored"},
		},
		"UPDATE is decided like CREATE": {
			body:    review(t, "d8", spot, withOperation("UPDATE")),
			wantLog: []string{"patched"},
		},
		"CREATE without object": {
			body:     review(t, "d9", spot, withOnlyOldObject()),
			wantBody: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"d9","allowed":false,"status":{"code":400,"reason":"Bad Request","message":"CREATE request has no object"}}}`,
		},
		"panicking handler is recovered": {
			body:      review(t, "d7", spot),
			evaluator: &Evaluator{}, // no extractor: the kind lookup panics
			wantBody:  `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":false,"status":{"code":500,"reason":"Internal Server Error","message":"internal error in the Quartermaster webhook (recovered; see its log)"}}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, HandlerOptions{Mode: tc.mode, Log: rec, Deadline: tc.deadline, OnDeadline: tc.onDead, Evaluator: tc.evaluator})
			w := post(t, h, "application/json", tc.body)
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", w.Body, tc.wantBody)
			}
			if tc.wantBody == "" && !strings.Contains(w.Body.String(), `"patchType":"JSONPatch"`) {
				t.Errorf("want a patch, got %s", w.Body)
			}
			var got []string
			for _, e := range rec.Entries {
				got = append(got, e.Decision)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantLog, ",") {
				t.Errorf("logged decisions %v, want %v", got, tc.wantLog)
			}
		})
	}
}

func mustExtractor(t testing.TB) *workload.Extractor {
	x, err := workload.New(workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestNamespaceLabelsAndUsageComeFromState(t *testing.T) {
	// The team falls back to the namespace label; usage fills the quota.
	obj := example(t, "06-spot-training-job.yaml")
	delete(obj["metadata"].(map[string]any)["annotations"].(map[string]any), "quartermaster.io/team")
	st := staticState{labels: map[string]map[string]string{"vision": {"quartermaster.io/team": "vision-from-ns"}}}
	rec := &recorder{}
	h := newTestHandler(t, HandlerOptions{Log: rec, State: st})
	w := post(t, h, "application/json", review(t, "n1", obj))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"patchType":"JSONPatch"`) {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if len(rec.Entries) != 1 || rec.Entries[0].Placement == nil {
		t.Fatalf("entries %+v", rec.Entries)
	}
}

// applyRawPatch applies a JSON patch as the API server does (RFC 6902).
func applyRawPatch(t testing.TB, obj map[string]any, patch []byte) map[string]any {
	t.Helper()
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(obj)
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("applying patch: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
