package decisionlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// MaxLineBytes bounds one line when verifying; decisions are a few KiB.
const MaxLineBytes = 16 << 20

// Problem is the first place the chain breaks.
type Problem struct {
	File string `json:"file"`
	// Line is 1-based within File; it names the line that was tampered
	// with where that is knowable, else the line whose link is broken.
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Report is the result of a verification.
type Report struct {
	Files int `json:"files"`
	Lines int `json:"lines"`
	// Problem is nil when every line checks out.
	Problem *Problem `json:"problem,omitempty"`
	// FirstPrev is the prev of the first line: zeros for a chain that
	// starts here, else the sum of a line in an earlier (rotated) file.
	FirstPrev string `json:"firstPrev"`
	LastHash  string `json:"lastHash"`
}

// VerifyFiles checks the chain through files in order (oldest first): a
// rotated file continues where the one before it ended.
func VerifyFiles(paths []string) (*Report, error) {
	v := &verifier{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("opening decision log: %w", err)
		}
		err = v.read(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		v.rep.Files++
		if v.rep.Problem != nil {
			break
		}
	}
	v.rep.LastHash = v.prev
	return &v.rep, nil
}

// Verify checks one stream, named name in the report.
func Verify(name string, r io.Reader) (*Report, error) {
	v := &verifier{}
	if err := v.read(name, r); err != nil {
		return nil, err
	}
	v.rep.Files = 1
	v.rep.LastHash = v.prev
	return &v.rep, nil
}

type verifier struct {
	rep  Report
	prev string
	seq  int64
	// started is set after the first line, whose prev is taken on trust
	// (it links to a rotated file, or is zeros).
	started bool
}

func (v *verifier) read(name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Bytes()
		v.rep.Lines++
		fail := func(line int, format string, args ...any) {
			v.rep.Problem = &Problem{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
		}
		if _, err := checkSum(l); err != nil {
			fail(n, "%v", err)
			return nil
		}
		var head struct {
			Seq  int64  `json:"seq"`
			Prev string `json:"prev"`
		}
		if err := json.Unmarshal(l, &head); err != nil {
			fail(n, "not a decision line: %v", err)
			return nil
		}
		if !v.started {
			v.started = true
			v.rep.FirstPrev = head.Prev
		} else {
			if head.Prev != v.prev {
				// This line is intact, so the one before it changed (or a
				// line was inserted or removed between them).
				prevLine := n - 1
				if prevLine == 0 {
					fail(n, "does not continue the previous file (line removed, inserted or file reordered)")
				} else {
					fail(prevLine, "altered: line %d records a different hash for it (or lines were removed or inserted here)", n)
				}
				return nil
			}
			if head.Seq != v.seq+1 {
				fail(n, "sequence %d follows %d (lines removed or inserted)", head.Seq, v.seq)
				return nil
			}
		}
		v.seq, v.prev = head.Seq, lineHash(l)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}
