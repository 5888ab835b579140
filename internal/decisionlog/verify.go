package decisionlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MaxLineBytes bounds one line when verifying; decisions are a few KiB.
const MaxLineBytes = 16 << 20

// Problem is the first place the chain breaks.
type Problem struct {
	File string `json:"file"`
	// Line is 1-based within File: the first line that is out of place,
	// edited or forged, as far as the chain can tell (see Verifier).
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Anchors: how the first file's chain starts.
const (
	// AnchorGenesis: sequence 1 with a zero prev, the start of a log.
	AnchorGenesis = "genesis"
	// AnchorRotation: a rotation header recording the previous file's
	// last sequence and hash, which a witness or the previous file can
	// confirm.
	AnchorRotation = "rotation"
	// AnchorTrusted: a headerless first line taken on trust
	// (Verifier.AllowUnanchored), for files rotated before headers existed.
	AnchorTrusted = "trusted"
)

// Report is the result of a verification.
type Report struct {
	Files int `json:"files"`
	Lines int `json:"lines"`
	// Problem is nil when every line checks out.
	Problem *Problem `json:"problem,omitempty"`
	// Anchor is how the chain starts: genesis, rotation or trusted.
	Anchor string `json:"anchor,omitempty"`
	// FirstSeq and FirstPrev are the first line's sequence and prev: 1
	// and zeros for a chain that starts here, else where the file rotated
	// before it ended.
	FirstSeq  int64  `json:"firstSeq"`
	FirstPrev string `json:"firstPrev"`
	// LastSeq and LastHash are the head of the chain: what a witness
	// compares with the head the writer exported (Writer.Head).
	LastSeq  int64  `json:"lastSeq"`
	LastHash string `json:"lastHash"`
	// Witness says whether the witness head was checked: "matched", or
	// "precedes the files" when it lies before the first line given.
	Witness string `json:"witness,omitempty"`
}

// Head is a point of the chain: a line's sequence and hash. The writer
// exports its head; a witness keeps it to detect a truncated tail later.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// MinWitnessHexDigits is the shortest hash prefix a witness may give: 13
// hex digits are the 52 bits the head-hash metric carries exactly.
const MinWitnessHexDigits = 13

// ParseHead reads SEQ:HASH, HASH being the head hash in hex or a prefix of
// at least MinWitnessHexDigits digits.
func ParseHead(s string) (Head, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	hash = strings.ToLower(hash)
	if !ok || err != nil || seq < 1 || len(hash) < MinWitnessHexDigits || len(hash) > len(zeroHash) || strings.Trim(hash, "0123456789abcdef") != "" {
		return Head{}, fmt.Errorf("witness %q: want SEQ:HASH, a sequence of at least 1 and at least %d hex digits of its hash", s, MinWitnessHexDigits)
	}
	return Head{Seq: seq, Hash: hash}, nil
}

// Verifier checks hash-chained logs.
//
// A chain must start at a genesis (sequence 1, zero prev) or at a rotation
// header; a file that continues an earlier one given before it must pick
// up its last sequence and hash. Within a file every line must carry the
// next sequence and the hash of the line before it. When a link breaks,
// the report names the first line that is actually wrong:
//   - a line whose own sum fails was edited;
//   - a line with an unexpected sequence is out of place: the lines
//     before it were removed, or it was moved (two swapped lines are
//     blamed on the first of them, not on the intact line before);
//   - a line with the right sequence but a prev that does not match:
//     if the next line links to it, the line before it was edited (with
//     a recomputed sum); otherwise it was replaced;
//   - a line repeating the previous line's sequence and predecessor: one
//     of the two was inserted, the one the next line does not link to.
//
// What no file can show is a truncated tail; Witness checks it against a
// head exported earlier.
type Verifier struct {
	// AllowUnanchored accepts a first line that is neither a genesis nor
	// a rotation header, taking its sequence and prev on trust: files
	// rotated by writers older than rotation headers start that way.
	// Without it such a start is reported: it is also what deleting a
	// log's first lines looks like.
	AllowUnanchored bool
	// Witness, when set, is a head exported by the writer earlier: the
	// chain must pass through it (same hash at that sequence) and must
	// not end before it.
	Witness *Head
}

// VerifyFiles checks the chain through files in order (oldest first) with
// the default Verifier.
func VerifyFiles(paths []string) (*Report, error) { return Verifier{}.Files(paths) }

// Verify checks one stream, named name in the report, with the default
// Verifier.
func Verify(name string, r io.Reader) (*Report, error) { return Verifier{}.Stream(name, r) }

// Files checks the chain through files in order (oldest first): a rotated
// file continues where the one before it ended.
func (vr Verifier) Files(paths []string) (*Report, error) {
	v := &verifier{opts: vr}
	for _, p := range paths {
		v.current = p
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
	return v.finish(), nil
}

// Stream checks one stream, named name in the report.
func (vr Verifier) Stream(name string, r io.Reader) (*Report, error) {
	v := &verifier{opts: vr, current: name}
	if err := v.read(name, r); err != nil {
		return nil, err
	}
	v.rep.Files = 1
	return v.finish(), nil
}

type verifier struct {
	opts Verifier
	rep  Report
	// started is set once the chain has an anchor; seq and hash are the
	// last accepted line's, before the hash of the line before it.
	started      bool
	seq          int64
	hash, before string
	lastFile     string
	lastLine     int
	// current is the file being read, named when the log ends before a
	// witness and no line at all was read.
	current         string
	witnessChecked  bool
	witnessPrecedes bool
	// witnessFile and witnessLine hold the witness's sequence when its
	// hash differs there.
	witnessMismatch bool
	witnessFile     string
	witnessLine     int
}

// record is one line as the verifier sees it.
type record struct {
	n       int
	seq     int64
	prev    string
	kind    string
	prevSeq int64
	hash    string
	// bad says why the line cannot be read as a link at all (its sum
	// fails, it is not JSON); such a line is wrong in itself.
	bad string
}

// lines reads records with one line of look-ahead, which the blame rules
// need to tell an edited line from a replaced one.
type lines struct {
	sc   *bufio.Scanner
	n    int
	peek *record
	err  error
}

func (ls *lines) next() *record {
	if ls.peek != nil {
		r := ls.peek
		ls.peek = nil
		return r
	}
	return ls.read()
}

func (ls *lines) lookahead() *record {
	if ls.peek == nil {
		ls.peek = ls.read()
	}
	return ls.peek
}

func (ls *lines) read() *record {
	if !ls.sc.Scan() {
		ls.err = ls.sc.Err()
		return nil
	}
	ls.n++
	l := ls.sc.Bytes()
	r := &record{n: ls.n}
	if _, err := checkSum(l); err != nil {
		r.bad = err.Error()
		return r
	}
	var head struct {
		Seq     int64  `json:"seq"`
		Prev    string `json:"prev"`
		Kind    string `json:"kind"`
		PrevSeq int64  `json:"prevSeq"`
	}
	if err := json.Unmarshal(l, &head); err != nil {
		r.bad = "not a decision line: " + err.Error()
		return r
	}
	r.seq, r.prev, r.kind, r.prevSeq, r.hash = head.Seq, head.Prev, head.Kind, head.PrevSeq, lineHash(l)
	return r
}

func (v *verifier) read(name string, rd io.Reader) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	ls := &lines{sc: sc}
	fail := func(line int, format string, args ...any) {
		v.rep.Problem = &Problem{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for r := ls.next(); r != nil; r = ls.next() {
		v.rep.Lines++
		if r.bad != "" {
			fail(r.n, "%s", r.bad)
			return nil
		}
		if r.n == 1 {
			if !v.anchor(r, fail) {
				return nil
			}
		} else if !v.link(r, ls, fail) {
			return nil
		}
		v.accept(name, r)
		v.lastFile, v.lastLine = name, r.n
	}
	if ls.err != nil {
		return fmt.Errorf("reading %s: %w", name, ls.err)
	}
	return nil
}

// anchor checks the first line of a file: it starts the chain, or
// continues the file given before it.
func (v *verifier) anchor(r *record, fail func(int, string, ...any)) bool {
	switch {
	case r.kind == KindRotation:
		if r.prevSeq != r.seq-1 {
			fail(1, "rotation header with sequence %d records the previous file ending at sequence %d: want %d (header forged)", r.seq, r.prevSeq, r.seq-1)
			return false
		}
		if !v.started {
			v.start(AnchorRotation, r)
			return true
		}
		if r.prevSeq != v.seq || r.prev != v.hash {
			fail(1, "the rotation header says the previous file ended at sequence %d (hash %.12s…), but %s ends at sequence %d (hash %.12s…): "+
				"lines were removed from the end of that file, or the files are out of order",
				r.prevSeq, r.prev, v.lastFile, v.seq, v.hash)
			return false
		}
		return true
	case r.kind != "":
		fail(1, "line of unknown kind %q", r.kind)
		return false
	case r.seq == 1 && (r.prev == zeroHash || r.prev == ""):
		if v.started {
			fail(1, "starts a new chain (sequence 1) after %s, which ends at sequence %d: the files do not belong together, or the live file was deleted", v.lastFile, v.seq)
			return false
		}
		v.start(AnchorGenesis, r)
		return true
	case v.started:
		// A file rotated before rotation headers existed continues the
		// previous one directly.
		if r.seq == v.seq+1 && r.prev == v.hash {
			return true
		}
		fail(1, "does not continue %s, which ends at sequence %d (hash %.12s…): this file starts at sequence %d (prev %.12s…) without a rotation header: "+
			"lines were removed at the seam, or the files are out of order", v.lastFile, v.seq, v.hash, r.seq, r.prev)
		return false
	case v.opts.AllowUnanchored:
		v.start(AnchorTrusted, r)
		return true
	}
	fail(1, "the chain starts at sequence %d without a genesis (sequence 1, zero prev) or a rotation header: the lines before it were removed "+
		"(a file rotated before rotation headers existed starts this way too: give the files before it, or --allow-unanchored)", r.seq)
	return false
}

func (v *verifier) start(anchor string, r *record) {
	v.started = true
	v.rep.Anchor, v.rep.FirstSeq, v.rep.FirstPrev = anchor, r.seq, r.prev
	v.seq, v.hash = r.seq-1, r.prev
	if w := v.opts.Witness; w != nil && w.Seq < r.seq {
		v.witnessPrecedes = true
	}
}

// link checks a line after the first of its file against the line before.
func (v *verifier) link(r *record, ls *lines, fail func(int, string, ...any)) bool {
	want := v.seq + 1
	if r.kind != "" {
		fail(r.n, "a %q line in the middle of a file (only a file's first line may be one): inserted", r.kind)
		return false
	}
	switch {
	case r.seq == want && r.prev == v.hash:
		return true
	case r.seq == want:
		next := ls.lookahead()
		switch {
		case next != nil && next.bad == "" && next.prev == r.hash:
			fail(r.n-1, "altered: line %d (sequence %d) records a different hash for it, and the chain goes on from line %d", r.n, r.seq, r.n)
		case next != nil:
			fail(r.n, "replaced: it does not link to line %d, and line %d does not link to it", r.n-1, r.n+1)
		default:
			fail(r.n-1, "altered (or line %d, the last, replaced): line %d records a different hash for it", r.n, r.n)
		}
	case r.seq == v.seq && r.prev == v.before:
		// Two lines claim the same place; the next line says which one the
		// chain goes on from.
		if next := ls.lookahead(); next != nil && next.bad == "" && next.prev == r.hash {
			fail(r.n-1, "inserted: line %d holds the same sequence %d and predecessor, and the chain goes on from line %d", r.n, r.seq, r.n)
		} else {
			fail(r.n, "inserted: it repeats sequence %d and the predecessor of line %d", r.seq, r.n-1)
		}
	case r.seq > want:
		missing := fmt.Sprintf("the line with sequence %d was", want)
		if r.seq > want+1 {
			missing = fmt.Sprintf("the lines with sequences %d to %d were", want, r.seq-1)
		}
		fail(r.n, "sequence %d where %d was expected: %s removed, or this line was moved here", r.seq, want, missing)
	default:
		fail(r.n, "sequence %d where %d was expected: the sequence goes back (lines reordered or inserted)", r.seq, want)
	}
	return false
}

func (v *verifier) accept(name string, r *record) {
	v.before = v.hash
	v.seq, v.hash = r.seq, r.hash
	if w := v.opts.Witness; w != nil && r.seq == w.Seq {
		v.witnessChecked = true
		if !strings.HasPrefix(r.hash, w.Hash) {
			v.witnessMismatch, v.witnessFile, v.witnessLine = true, name, r.n
		}
	}
}

func (v *verifier) finish() *Report {
	v.rep.LastSeq, v.rep.LastHash = v.seq, v.hash
	w := v.opts.Witness
	if w == nil || v.rep.Problem != nil {
		return &v.rep
	}
	switch {
	case v.witnessPrecedes:
		v.rep.Witness = "precedes the files"
	case v.witnessMismatch:
		v.rep.Problem = &Problem{File: v.witnessFile, Line: v.witnessLine,
			Msg: fmt.Sprintf("the witness saw sequence %d with hash %s…, this line has that sequence but another hash: the log was rewritten from here or earlier", w.Seq, w.Hash)}
	case !v.witnessChecked:
		file := v.lastFile
		if file == "" {
			file = v.current
		}
		v.rep.Problem = &Problem{File: file, Line: v.lastLine,
			Msg: fmt.Sprintf("truncated: the log ends at sequence %d, but a witness saw sequence %d: the lines after this one were removed", v.seq, w.Seq)}
	default:
		v.rep.Witness = "matched"
	}
	return &v.rep
}
