package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// The snapshot format (docs/snapshot.md): gzip-compressed JSON lines. The
// first line is a header naming the format and its version, then one
// Resource per line, then a trailer with the number of resources, so that
// a snapshot cut short (a full disk, a killed writer) is an error rather
// than a smaller inventory. Readers also take it uncompressed, for
// hand-written test files.
const (
	SnapshotFormat  = "quartermaster.io/inventory-snapshot"
	SnapshotVersion = 1
	// MaxSnapshotLine bounds one line: a workload object with a large pod
	// template fits many times over, and a corrupt file cannot make the
	// reader buffer without end.
	MaxSnapshotLine = 16 << 20
)

// snapshotHeader is the first line.
type snapshotHeader struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

// snapshotTrailer is the last line.
type snapshotTrailer struct {
	End       bool  `json:"end"`
	Resources int64 `json:"resources"`
}

// SnapshotWriter writes a snapshot. It is not safe for concurrent use.
type SnapshotWriter struct {
	gz  *gzip.Writer
	buf *bufio.Writer
	enc *json.Encoder
	n   int64
	err error
}

// NewSnapshotWriter starts a snapshot on w; Close finishes it (the trailer
// and the gzip footer) but does not close w.
func NewSnapshotWriter(w io.Writer, created time.Time) (*SnapshotWriter, error) {
	gz := gzip.NewWriter(w)
	buf := bufio.NewWriterSize(gz, 64<<10)
	s := &SnapshotWriter{gz: gz, buf: buf, enc: json.NewEncoder(buf)}
	if err := s.enc.Encode(snapshotHeader{Format: SnapshotFormat, Version: SnapshotVersion, Created: created.UTC()}); err != nil {
		return nil, fmt.Errorf("writing snapshot header: %w", err)
	}
	return s, nil
}

// Write appends one resource. After an error every call fails with it.
func (s *SnapshotWriter) Write(r *Resource) error {
	if s.err != nil {
		return s.err
	}
	if err := s.enc.Encode(r); err != nil {
		s.err = fmt.Errorf("writing resource %s: %w", r.ID, err)
		return s.err
	}
	s.n++
	return nil
}

// Count is the number of resources written.
func (s *SnapshotWriter) Count() int64 { return s.n }

// Close writes the trailer and flushes.
func (s *SnapshotWriter) Close() error {
	if s.err != nil {
		return s.err
	}
	if err := s.enc.Encode(snapshotTrailer{End: true, Resources: s.n}); err != nil {
		return fmt.Errorf("writing snapshot trailer: %w", err)
	}
	if err := s.buf.Flush(); err != nil {
		return fmt.Errorf("flushing snapshot: %w", err)
	}
	if err := s.gz.Close(); err != nil {
		return fmt.Errorf("closing snapshot: %w", err)
	}
	return nil
}

// SnapshotReader streams a snapshot's resources.
type SnapshotReader struct {
	sc      *bufio.Scanner
	line    int
	n       int64
	done    bool
	created time.Time
}

// NewSnapshotReader reads the header of a snapshot (gzip or plain JSON
// lines) and returns a reader positioned at the first resource.
func NewSnapshotReader(r io.Reader) (*SnapshotReader, error) {
	br := bufio.NewReader(r)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading snapshot: %w", err)
		}
		in = gz
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), MaxSnapshotLine)
	s := &SnapshotReader{sc: sc}
	line, err := s.next()
	if err == io.EOF {
		return nil, errors.New("reading snapshot: empty: want a header line naming " + SnapshotFormat)
	}
	if err != nil {
		return nil, err
	}
	var h snapshotHeader
	if err := strictUnmarshal(line, &h); err != nil || h.Format != SnapshotFormat {
		return nil, fmt.Errorf("reading snapshot: line 1 is not a %s header", SnapshotFormat)
	}
	if h.Version != SnapshotVersion {
		return nil, fmt.Errorf("reading snapshot: version %d: this build reads version %d", h.Version, SnapshotVersion)
	}
	s.created = h.Created
	return s, nil
}

// Created is when the snapshot was taken.
func (s *SnapshotReader) Created() time.Time { return s.created }

// next returns the next non-empty line.
func (s *SnapshotReader) next() ([]byte, error) {
	for s.sc.Scan() {
		s.line++
		if line := bytes.TrimSpace(s.sc.Bytes()); len(line) > 0 {
			return line, nil
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("reading snapshot: line %d is longer than %d MiB", s.line+1, MaxSnapshotLine>>20)
		}
		return nil, fmt.Errorf("reading snapshot after line %d: %w", s.line, err)
	}
	return nil, io.EOF
}

// Next returns the next resource, or io.EOF after the trailer, once the
// count in the trailer has been checked. A snapshot without its trailer, or
// with lines after it, is an error: it was cut short or appended to.
func (s *SnapshotReader) Next() (*Resource, error) {
	if s.done {
		return nil, io.EOF
	}
	line, err := s.next()
	if err == io.EOF {
		return nil, fmt.Errorf("reading snapshot: it ends after %d resources without its trailer: the file was cut short", s.n)
	}
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(line, []byte(`{"end"`)) {
		var t snapshotTrailer
		if err := strictUnmarshal(line, &t); err != nil || !t.End {
			return nil, fmt.Errorf("reading snapshot: line %d: a malformed trailer", s.line)
		}
		if t.Resources != s.n {
			return nil, fmt.Errorf("reading snapshot: the trailer counts %d resources, the file holds %d", t.Resources, s.n)
		}
		if _, err := s.next(); err != io.EOF {
			return nil, fmt.Errorf("reading snapshot: line %d: data after the trailer", s.line)
		}
		s.done = true
		return nil, io.EOF
	}
	r := new(Resource)
	if err := strictUnmarshal(line, r); err != nil {
		return nil, fmt.Errorf("reading snapshot: line %d: %w", s.line, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("reading snapshot: line %d: %w", s.line, err)
	}
	s.n++
	return r, nil
}

// strictUnmarshal refuses unknown fields, so that a snapshot from a newer
// format version, or a typo in a hand-written one, is an error rather than
// data silently dropped.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}
