package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Mode is what a handler does with a GPU object.
type Mode int

const (
	// Mutate places the object and answers with the patch.
	Mutate Mode = iota
	// Validate judges the final object (after every mutating webhook) and
	// never patches: a placement edited after mutation is still checked.
	Validate
)

func (m Mode) String() string {
	if m == Validate {
		return "validate"
	}
	return "mutate"
}

// Defaults of HandlerOptions.
const (
	// DefaultMaxBodyBytes admits the API server's largest object (3 MiB)
	// twice over (object and oldObject of an UPDATE) plus the envelope.
	DefaultMaxBodyBytes = 7 << 20
	// DefaultDeadline is well under the API server's webhook timeout, so
	// that the configured outcome, not the failurePolicy, decides.
	DefaultDeadline = 500 * time.Millisecond
)

// DeadlineOutcome is what a request gets when its decision is not ready in
// time or the evaluator fails.
type DeadlineOutcome string

// The outcomes a missed deadline or an internal fault can have.
const (
	// OutcomeDeny fails closed: the GPU object is refused with a message
	// asking to retry. Only GPU objects reach the decision, so the rest of
	// the cluster never depends on it.
	OutcomeDeny DeadlineOutcome = "deny"
	// OutcomeAllow fails open: the object is admitted unplaced, with a
	// warning, and the nightly audit reports it.
	OutcomeAllow DeadlineOutcome = "allow"
)

// ClusterState is what a decision reads about the cluster. Implementations
// answer from memory (informer caches or a snapshot file): the request path
// never calls the API server.
type ClusterState interface {
	// NamespaceLabels returns the labels of a namespace; nil if unknown.
	NamespaceLabels(namespace string) map[string]string
	// GPUUsage returns the GPUs held per cloud, region and model. The
	// result is shared and must not be modified.
	GPUUsage() quota.GPUCounts
	// OwnerUsage returns the part of GPUUsage held by the pods of one
	// object (a bare Pod, or the controller at the top of their owner
	// chain: a Deployment for its ReplicaSets' pods); nil if none or
	// unknown. Shared, must not be modified.
	OwnerUsage(namespace, kind, name string) quota.GPUCounts
}

// DecisionRecorder receives every decision that is not a dry run.
type DecisionRecorder interface {
	Record(*decisionlog.Entry) error
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Mode      Mode
	Evaluator *Evaluator
	// State may be nil: no namespace labels and no usage.
	State ClusterState
	// Log may be nil: decisions are not recorded.
	Log     DecisionRecorder
	Metrics *Metrics
	Logger  *slog.Logger
	// MaxBodyBytes defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Deadline defaults to DefaultDeadline.
	Deadline time.Duration
	// OnDeadline defaults to OutcomeDeny.
	OnDeadline DeadlineOutcome
	// PolicyRevision names the policy bundle in force, for the decision
	// log; nil means "none" until the policy engine is wired in.
	PolicyRevision func() string
	// CatalogRevision names the catalog in force, for the decision log
	// lines of requests that were not priced (fast path, denials before
	// placement, errors); a priced decision records the revision of the
	// catalog that priced it. nil means "none".
	CatalogRevision func() string
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handler serves AdmissionReviews for one Mode.
type Handler struct {
	o HandlerOptions
}

// NewHandler checks the options and fills in defaults.
func NewHandler(o HandlerOptions) (*Handler, error) {
	if o.Evaluator == nil {
		return nil, errors.New("admission handler: an evaluator is required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	switch o.OnDeadline {
	case "":
		o.OnDeadline = OutcomeDeny
	case OutcomeDeny, OutcomeAllow:
	default:
		return nil, fmt.Errorf("admission handler: deadline outcome %q: want deny or allow", o.OnDeadline)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PolicyRevision == nil {
		o.PolicyRevision = func() string { return "none" }
	}
	if o.CatalogRevision == nil {
		o.CatalogRevision = func() string { return "none" }
	}
	return &Handler{o: o}, nil
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP answers one AdmissionReview. Transport-level faults (method,
// content type, size, malformed or incomplete reviews) get the matching 4xx
// status with an Errored review in the body; everything else is a 200 with
// the decision.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.o.Now()
	op := h.o.Mode.String()
	defer func() {
		if p := recover(); p != nil {
			h.o.Metrics.panic()
			h.o.Logger.Error("panic while handling admission request", "operation", op, "panic", p, "stack", string(debug.Stack()))
			writeErrored(w, http.StatusInternalServerError, "", "internal error in the Quartermaster webhook (recovered; see its log)")
			h.o.Metrics.request(op, "unknown", "errored", "gpu", h.o.Now().Sub(start))
		}
	}()
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // keep the pool from pinning huge bodies
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	if rerr := h.readBody(r, buf); rerr != nil {
		h.reject(w, op, rerr, start)
		return
	}
	body := buf.Bytes()
	if !workload.MayRequestGPU(body) {
		// The fast path: nothing in the review can ask for a GPU, so only
		// the envelope is decoded; the object is skipped, never built.
		head, err := decodeHead(body)
		if err != nil {
			h.reject(w, op, err.(*requestError), start)
			return
		}
		kind := h.kindLabel(head.Request.Kind)
		writeAllowed(w, head.Request.UID)
		h.o.Metrics.request(op, kind, "allowed", "fast", h.o.Now().Sub(start))
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		rerr := err.(*requestError)
		if req == nil {
			h.reject(w, op, rerr, start)
			return
		}
		// Well-formed enough to answer by uid: an Errored decision.
		kind := h.kindLabel(req.Kind)
		h.o.Metrics.badRequest()
		writeReview(w, http.StatusOK, erroredResponse(req.UID, rerr))
		h.o.Metrics.request(op, kind, "errored", "gpu", h.o.Now().Sub(start))
		return
	}
	// Everything that can fail runs before the response is written, so
	// that a recovered panic never follows a written answer.
	kind := h.kindLabel(req.Kind)
	resp, result := h.decide(r.Context(), req, start)
	writeReview(w, http.StatusOK, resp)
	h.o.Metrics.request(op, kind, result, "gpu", h.o.Now().Sub(start))
}

// reject answers a request that cannot be judged at all.
func (h *Handler) reject(w http.ResponseWriter, op string, rerr *requestError, start time.Time) {
	h.o.Metrics.badRequest()
	h.o.Logger.Debug("rejected admission request", "operation", op, "code", rerr.code, "reason", rerr.msg)
	writeErrored(w, rerr.code, "", rerr.msg)
	h.o.Metrics.request(op, "unknown", "errored", "fast", h.o.Now().Sub(start))
}

func (h *Handler) readBody(r *http.Request, buf *bytes.Buffer) *requestError {
	if r.Method != http.MethodPost {
		return &requestError{code: http.StatusMethodNotAllowed, msg: fmt.Sprintf("method %s: want POST", r.Method)}
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &requestError{code: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("content type %q: want application/json", ct)}
	}
	tooLarge := &requestError{code: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("request body is larger than %d bytes", h.o.MaxBodyBytes)}
	if r.ContentLength > h.o.MaxBodyBytes {
		return tooLarge
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, h.o.MaxBodyBytes+1))
	switch {
	case err != nil:
		return badRequest("reading request body: %v", err)
	case n > h.o.MaxBodyBytes:
		return tooLarge
	case n == 0:
		return badRequest("request body is empty: want an AdmissionReview")
	}
	return nil
}

// kindLabel bounds the kind label to the kinds the extractor knows.
func (h *Handler) kindLabel(k groupVersionKind) string {
	apiVersion := k.Version
	if k.Group != "" {
		apiVersion = k.Group + "/" + k.Version
	}
	if h.o.Evaluator.extractor.Supports(apiVersion, k.Kind) {
		return k.Kind
	}
	return "other"
}

// decide runs the full decision for a review that may ask for a GPU and
// returns the response and its result label.
func (h *Handler) decide(ctx context.Context, req *reviewRequest, start time.Time) (*reviewResponse, string) {
	uid := req.UID
	switch req.Operation {
	case "CREATE", "UPDATE":
	default:
		// DELETE and CONNECT carry no object to place.
		return &reviewResponse{UID: uid, Allowed: true}, "allowed"
	}
	obj := req.Object
	if obj == nil {
		return erroredResponse(uid, badRequest("%s request has no object", req.Operation)), "errored"
	}
	if _, ok := obj["kind"].(string); !ok {
		return erroredResponse(uid, badRequest("request object has no kind")), "errored"
	}
	in := &Input{
		ID:     uid,
		Object: obj,
		Request: RequestInfo{UID: uid, Operation: req.Operation, Username: req.UserInfo.Username,
			Groups: req.UserInfo.Groups, DryRun: req.DryRun != nil && *req.DryRun},
	}
	update := req.Operation == "UPDATE"
	if h.o.State != nil {
		in.NamespaceLabels = h.o.State.NamespaceLabels(req.Namespace)
		in.Usage = h.o.State.GPUUsage()
		if update {
			in.OwnUsage = h.o.State.OwnerUsage(req.Namespace, req.Kind.Kind, req.Name)
		}
	}
	// The decision to keep while nothing it depends on changes: on a
	// mutating UPDATE the one the stored object was admitted with (never
	// the incoming object's own annotation, which its author may have
	// written); in the validating call the one the mutating call just
	// wrote or kept.
	switch {
	case h.o.Mode == Validate:
		in.RecordedRaw = decisionAnnotation(obj)
	case update && req.OldObject != nil:
		in.RecordedRaw, _ = req.OldObject.Metadata.Annotations[workload.AnnotationDecision].(string)
		in.Replace = true
	}
	if in.RecordedRaw != "" {
		in.Recorded = parseDecision(in.RecordedRaw)
	}
	out, err := h.evaluate(ctx, in)
	resp, result := h.respond(uid, out, err)
	h.o.Metrics.outcome(out, in.Request.DryRun, h.o.Mode)
	if in.Request.DryRun || (out != nil && !out.GPU) {
		return resp, result // no side effects for dry runs; no decision for non-GPU objects
	}
	h.record(in, out, resp, result, start)
	return resp, result
}

// errDeadline marks a decision that missed the internal deadline.
var errDeadline = errors.New("deadline exceeded")

// evaluate runs the evaluator under the internal deadline, on the request's
// own goroutine. Every stage is bounded or watches ctx: extraction and the
// patch are linear in a body capped at MaxBodyBytes, placement in the
// catalog, and policy evaluation is cancelled through ctx. A goroutine per
// request as a guard against a stage that might not be would cost a wakeup
// of another thread on every GPU decision, which on an otherwise idle
// virtual machine is a large share of the whole decision.
func (h *Handler) evaluate(ctx context.Context, in *Input) (out *Outcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.Deadline)
	defer cancel()
	if ctx.Err() != nil {
		return nil, errDeadline // the caller gave up, or no time was left
	}
	defer func() {
		if p := recover(); p != nil {
			h.o.Metrics.panic()
			h.o.Logger.Error("panic while evaluating", "uid", in.ID, "panic", p, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("evaluator panicked: %v", p)
		}
	}()
	out, err = h.o.Evaluator.Evaluate(ctx, in)
	if err != nil && ctx.Err() != nil {
		return nil, errDeadline // cancelled mid-evaluation: the configured outcome applies
	}
	return out, err
}

// respond maps an evaluation to the review response: the one place where
// decisions become Allowed, Denied, Patched or Errored.
func (h *Handler) respond(uid string, out *Outcome, err error) (*reviewResponse, string) {
	if err != nil {
		msg := "quartermaster could not decide: " + err.Error()
		if errors.Is(err, errDeadline) {
			msg = fmt.Sprintf("quartermaster made no decision within %s", h.o.Deadline)
			h.o.Metrics.timeout(string(h.o.OnDeadline))
		}
		h.o.Logger.Warn("no decision", "uid", uid, "operation", h.o.Mode.String(), "err", err, "outcome", h.o.OnDeadline)
		if h.o.OnDeadline == OutcomeAllow {
			return &reviewResponse{UID: uid, Allowed: true, Warnings: []string{msg + "; admitted without placement (the audit will report it)"}}, "allowed"
		}
		return &reviewResponse{UID: uid, Status: &status{Code: http.StatusServiceUnavailable, Reason: "ServiceUnavailable",
			Message: msg + "; please retry"}}, "errored"
	}
	resp := &reviewResponse{UID: uid, Allowed: out.Allowed, Warnings: out.Warnings}
	if !out.Allowed {
		msgs := make([]string, len(out.Violations))
		for i, v := range out.Violations {
			msgs[i] = v.Code + ": " + v.Msg
		}
		resp.Status = &status{Code: http.StatusForbidden, Reason: "Forbidden", Message: strings.Join(msgs, "; ")}
		return resp, "denied"
	}
	if len(out.Patch) == 0 {
		return resp, "allowed"
	}
	if h.o.Mode == Validate {
		// Mutation would still change the object: it was not placed by
		// Quartermaster, or its placement was changed after mutation.
		resp.Warnings = append(resp.Warnings, "quartermaster: this object's placement does not match a Quartermaster decision ("+
			"was the mutating webhook skipped, or the placement edited?)")
		return resp, "allowed"
	}
	patch, err := json.Marshal(out.Patch)
	if err != nil {
		return h.respond(uid, nil, fmt.Errorf("encoding patch: %w", err))
	}
	resp.Patch, resp.PatchType = patch, "JSONPatch"
	return resp, "patched"
}

func (h *Handler) record(in *Input, out *Outcome, resp *reviewResponse, result string, start time.Time) {
	if h.o.Log == nil {
		return
	}
	e := &decisionlog.Entry{
		ID: in.ID + "/" + h.o.Mode.String(), Time: start.UTC(), UID: in.ID, User: in.Request.Username,
		Operation: h.o.Mode.String(), Verb: in.Request.Operation, Object: describe(in.Object),
		Decision: result, Warnings: resp.Warnings, PolicyRevision: h.o.PolicyRevision(),
		CatalogRevision: h.catalogRevision(out),
	}
	if out != nil {
		if len(out.Violations) > 0 {
			e.Violations = out.Violations
		}
		if out.Annotation != nil {
			e.Placement = out.Annotation
		}
	} else if resp.Status != nil {
		e.Violations = []Violation{{Code: "no-decision", Msg: resp.Status.Message}}
	}
	if err := h.o.Log.Record(e); err != nil {
		h.o.Logger.Error("recording decision", "uid", in.ID, "err", err)
	}
}
