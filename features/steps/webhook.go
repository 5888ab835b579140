package steps

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

// webhookSteps are about the webhook as a server the API server depends
// on: deadlines, transport errors, deletions.
var webhookSteps = []step{
	{`^policy evaluation takes longer than the webhook's deadline$`, slowPolicyEvaluation},
	{`^a missed deadline (denies|allows) the request$`, onDeadline},
	{`^the API server sends a body larger than the webhook accepts$`, oversizedBody},
	{`^the API server sends this body:$`, rawBody},
	{`^the API server sends it with content type "([^"]*)"$`, withContentType},
	{`^it is deleted$`, deleted},
	{`^the webhook answers with HTTP status (\d+)$`, httpStatus},
	{`^the answer has status (\d+) saying "([^"]*)"$`, answerStatus},
}

func slowPolicyEvaluation(ctx context.Context) error {
	w := get(ctx)
	w.slowPolicy = true
	w.deadline = admission.DefaultDeadline
	return nil
}

func onDeadline(ctx context.Context, what string) error {
	get(ctx).onDeadline = map[string]admission.DeadlineOutcome{"denies": admission.OutcomeDeny, "allows": admission.OutcomeAllow}[what]
	return nil
}

// oversizedBody sends a well-formed review one byte over the default
// limit.
func oversizedBody(ctx context.Context) error {
	w := get(ctx)
	body, err := w.review("CREATE", w.object, nil, false)
	if err != nil {
		return err
	}
	pad := admission.DefaultMaxBodyBytes + 1 - len(body)
	body = append(body[:len(body)-1], []byte(`,"padding":"`+strings.Repeat("x", max(pad, 0))+`"}`)...)
	return w.post(body, "application/json")
}

func rawBody(ctx context.Context, body *godog.DocString) error {
	return get(ctx).post([]byte(body.Content), "application/json")
}

func withContentType(ctx context.Context, ct string) error {
	w := get(ctx)
	body, err := w.review("CREATE", w.object, nil, false)
	if err != nil {
		return err
	}
	return w.post(body, ct)
}

func deleted(ctx context.Context) error {
	w := get(ctx)
	return w.admit("DELETE", w.object, nil, false)
}

func httpStatus(ctx context.Context, code int) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if r.httpStatus != code {
		return fmt.Errorf("HTTP status %d, want %d (%s)", r.httpStatus, code, r.summary())
	}
	return nil
}

func answerStatus(ctx context.Context, code int, text string) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	st := r.review.Response.Status
	if r.review.Response.Allowed || st == nil || st.Code != code || !strings.Contains(st.Message, text) {
		return fmt.Errorf("want status %d saying %q, got %s", code, text, r.summary())
	}
	return nil
}

// logSteps are the decision log: written by the handler, verified by the
// same code as `qm log verify`.
var logSteps = []step{
	{`^the webhook keeps a decision log$`, keepsLog},
	{`^(\d+) workloads like it are admitted one after the other$`, admitMany},
	{`^someone changes "([^"]*)" to "([^"]*)" in line (\d+) of the decision log$`, editLine},
	{`^someone changes "([^"]*)" to "([^"]*)" in line (\d+) of the decision log and recomputes its sum$`, rewriteLine},
	{`^someone deletes line (\d+) of the decision log$`, deleteLine},
	{`^the decision log verifies with (\d+) lines$`, logVerifies},
	{`^verifying the decision log names line (\d+): "([^"]*)"$`, logNamesLine},
}

func keepsLog(ctx context.Context) error {
	w := get(ctx)
	w.logPath = filepath.Join(w.dir, "decisions.log")
	lw, err := decisionlog.Open(decisionlog.Options{Path: w.logPath})
	if err != nil {
		return err
	}
	w.logW = lw
	return nil
}

// admitMany admits n copies of the scenario's workload, named apart.
func admitMany(ctx context.Context, n int) error {
	w := get(ctx)
	for i := range n {
		obj := clone(w.object)
		if obj == nil {
			return errors.New("the scenario describes no workload")
		}
		metadata(obj)["name"] = fmt.Sprintf("%v-%d", metadata(obj)["name"], i+1)
		if err := w.admit("CREATE", obj, nil, false); err != nil {
			return err
		}
	}
	return nil
}

// logLines closes the writer (flushing every line) and returns the lines.
func (w *world) logLines() ([][]byte, error) {
	if w.logPath == "" {
		return nil, errors.New("the webhook keeps no decision log in this scenario")
	}
	if w.logW != nil {
		if err := w.logW.Close(); err != nil {
			return nil, err
		}
		w.logW = nil
	}
	raw, err := os.ReadFile(w.logPath)
	if err != nil {
		return nil, err
	}
	return bytes.SplitAfter(raw, []byte("\n")), nil
}

// editLog rewrites line n (1-based) with f.
func editLog(ctx context.Context, n int, f func(line []byte) ([]byte, error)) error {
	w := get(ctx)
	lines, err := w.logLines()
	if err != nil {
		return err
	}
	if n < 1 || n > len(lines) || len(lines[n-1]) == 0 {
		return fmt.Errorf("the decision log has no line %d", n)
	}
	if lines[n-1], err = f(lines[n-1]); err != nil {
		return err
	}
	return os.WriteFile(w.logPath, bytes.Join(lines, nil), 0o600)
}

func editLine(ctx context.Context, from, to string, n int) error {
	return editLog(ctx, n, func(line []byte) ([]byte, error) {
		if !bytes.Contains(line, []byte(from)) {
			return nil, fmt.Errorf("line %d does not contain %q: %s", n, from, line)
		}
		return bytes.Replace(line, []byte(from), []byte(to), 1), nil
	})
}

// rewriteLine edits a line and gives it a sum that matches, as someone who
// knows the format would: only the next line's link shows it.
func rewriteLine(ctx context.Context, from, to string, n int) error {
	return editLog(ctx, n, func(line []byte) ([]byte, error) {
		if !bytes.Contains(line, []byte(from)) {
			return nil, fmt.Errorf("line %d does not contain %q: %s", n, from, line)
		}
		line = bytes.Replace(bytes.TrimSuffix(line, []byte("\n")), []byte(from), []byte(to), 1)
		i := bytes.LastIndex(line, []byte(`,"sum":"`))
		if i < 0 {
			return nil, fmt.Errorf("line %d has no sum", n)
		}
		body := append(append([]byte{}, line[:i]...), '}')
		sum := sha256.Sum256(body)
		return []byte(string(line[:i]) + `,"sum":"` + hex.EncodeToString(sum[:]) + "\"}\n"), nil
	})
}

func deleteLine(ctx context.Context, n int) error {
	return editLog(ctx, n, func([]byte) ([]byte, error) { return nil, nil })
}

func (w *world) verifyLog() (*decisionlog.Report, error) {
	if _, err := w.logLines(); err != nil {
		return nil, err
	}
	return decisionlog.VerifyFiles([]string{w.logPath})
}

func logVerifies(ctx context.Context, n int) error {
	w := get(ctx)
	rep, err := w.verifyLog()
	if err != nil {
		return err
	}
	if rep.Problem != nil {
		return fmt.Errorf("the decision log does not verify: %v", rep.Problem)
	}
	lines, err := countLines(w.logPath)
	if err != nil {
		return err
	}
	if rep.Lines != n || lines != n {
		return fmt.Errorf("the decision log has %d lines (%d verified), want %d", lines, rep.Lines, n)
	}
	return nil
}

func logNamesLine(ctx context.Context, n int, text string) error {
	rep, err := get(ctx).verifyLog()
	if err != nil {
		return err
	}
	if rep.Problem == nil {
		return fmt.Errorf("the decision log verifies (%d lines), want a problem at line %d", rep.Lines, n)
	}
	if rep.Problem.Line != n || !strings.Contains(rep.Problem.Msg, text) {
		return fmt.Errorf("verification says %v, want line %d: %q", rep.Problem, n, text)
	}
	return nil
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	s.Buffer(nil, decisionlog.MaxLineBytes)
	for s.Scan() {
		n++
	}
	return n, s.Err()
}
