package decisionlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is one decision. Violations are encoded as they are by the writer
// goroutine: callers must not change them after Record.
type Entry struct {
	// ID names the decision: the request UID and the webhook operation.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// UID is the admission request's UID.
	UID  string `json:"uid"`
	User string `json:"user"`
	// Operation is the webhook operation (mutate, validate); Verb the
	// request's (CREATE, UPDATE).
	Operation string `json:"operation"`
	Verb      string `json:"verb"`
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// Decision is allowed, patched, denied or errored.
	Decision   string   `json:"decision"`
	Violations any      `json:"violations,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// Placement is the decision annotation (contract 4.2) as the patch
	// wrote it, or as recorded for a kept decision: the log holds exactly
	// what the object was pinned with.
	Placement json.RawMessage `json:"placement,omitempty"`
	// PolicyRevision is the policy bundle revision the decision used.
	PolicyRevision string `json:"policyRevision"`
	// CatalogRevision is the revision (content hash) of the offer catalog
	// in service, so that a price in a decision can be traced to the
	// catalog it came from after the catalog is reloaded.
	CatalogRevision string `json:"catalogRevision,omitempty"`
}

// line is an entry as written: its place in the chain around it.
type line struct {
	Seq int64 `json:"seq"`
	*Entry
	Prev string `json:"prev"`
}

const (
	sumPrefix = `,"sum":"`
	sumLen    = len(sumPrefix) + sha256.Size*2 + len(`"}`)
)

// zeroHash is the prev of the first line of a new chain (the genesis,
// sequence 1): there is no line before it.
var zeroHash = hex.EncodeToString(make([]byte, sha256.Size))

// KindRotation marks the header line that starts every file after a
// rotation. Without it the first line of a rotated file would have to be
// taken on trust, and deleting a file's first lines would go unseen.
const KindRotation = "rotation"

// header is the first line of a file that continues the chain of the file
// rotated before it. It is a link of the chain like any line (its own seq
// and prev, its sum), so removing or editing it is found, and it records
// the previous file's last sequence and name so that a file read alone
// says where it must continue from.
type header struct {
	Seq  int64     `json:"seq"`
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// PrevSeq is the sequence of the previous file's last line, always
	// Seq − 1; Prev (below) is that line's hash.
	PrevSeq  int64  `json:"prevSeq"`
	PrevFile string `json:"prevFile,omitempty"`
	Prev     string `json:"prev"`
}

// encodeHeader appends a rotation header line (without newline) to dst.
func encodeHeader(dst []byte, h header) ([]byte, error) {
	h.Kind = KindRotation
	body, err := json.Marshal(h)
	if err != nil {
		return dst, fmt.Errorf("encoding rotation header: %w", err)
	}
	return appendSum(dst, body), nil
}

// appendSum appends body with its own sum as the last field.
func appendSum(dst, body []byte) []byte {
	sum := sha256.Sum256(body)
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, sumPrefix...)
	dst = hex.AppendEncode(dst, sum[:])
	return append(dst, '"', '}')
}

// encodeLine appends the line for e (without newline) to dst.
func encodeLine(dst []byte, seq int64, prev string, e *Entry) ([]byte, error) {
	body, err := json.Marshal(line{Seq: seq, Entry: e, Prev: prev})
	if err != nil {
		return dst, fmt.Errorf("encoding decision %s: %w", e.ID, err)
	}
	return appendSum(dst, body), nil
}

// lineHash is what the next line's prev holds.
func lineHash(l []byte) string {
	s := sha256.Sum256(l)
	return hex.EncodeToString(s[:])
}

// checkSum verifies a line's own sum and returns its body (the line as it
// was hashed).
func checkSum(l []byte) ([]byte, error) {
	if len(l) < sumLen+2 || !bytes.HasPrefix(l[len(l)-sumLen:], []byte(sumPrefix)) || !bytes.HasSuffix(l, []byte(`"}`)) {
		return nil, fmt.Errorf("does not end with a sum field")
	}
	want := l[len(l)-sumLen+len(sumPrefix) : len(l)-2]
	body := make([]byte, 0, len(l)-sumLen+1)
	body = append(body, l[:len(l)-sumLen]...)
	body = append(body, '}')
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != string(want) {
		return nil, fmt.Errorf("content does not match its sum (edited)")
	}
	return body, nil
}
