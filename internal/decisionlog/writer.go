package decisionlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Writer.
type Options struct {
	// Path is the live log file; rotated files are Path.<UTC time>.
	Path string
	// MaxBytes rotates the file before it grows past this size
	// (default 100 MiB).
	MaxBytes int64
	// MaxFiles is how many rotated files are kept (default 10; the oldest
	// are removed).
	MaxFiles int
	// QueueSize bounds the entries waiting to be written (default 65,536:
	// about 30 s of a saturated webhook).
	QueueSize int
	// SyncInterval is how often written lines are fsynced (default 1 s).
	// Lines reach the OS as soon as the queue is empty, so a crashed
	// process loses none of them; only a crashed machine can lose the
	// last interval.
	SyncInterval time.Duration
	// Registerer receives the log's metrics, among them the head of the
	// chain (sequence and hash prefix); nil registers none.
	Registerer prometheus.Registerer
	// Logger receives errors and, every HeadLogInterval, the head of the
	// chain as a structured line, for a witness that collects logs.
	Logger *slog.Logger
	// HeadLogInterval is how often the head is logged (default 1 min;
	// negative: never). It is also logged when the writer closes.
	HeadLogInterval time.Duration
	// Now is the clock that names rotated files.
	Now func() time.Time
}

// Writer appends entries to a hash-chained log. Record is safe for
// concurrent use; Close drains the queue.
type Writer struct {
	opts    Options
	queue   chan *Entry
	done    chan struct{}
	mu      sync.RWMutex // guards closed against Record racing Close
	closed  bool
	file    *os.File
	buf     *bufio.Writer
	size    int64
	seq     int64
	prev    string
	scratch []byte
	m       writerMetrics
	// head is the last line written, for the metrics and Head: the writer
	// goroutine stores it, scrapes read it, so one pointer keeps the
	// sequence and hash of a scrape from two different lines.
	head atomic.Pointer[Head]
}

type writerMetrics struct {
	lines, blocked, errors, rotations prometheus.Counter
}

// Open opens (or continues) the log at opts.Path and starts its writer.
// An existing file's last line seeds the chain, so restarts do not break it.
func Open(opts Options) (*Writer, error) {
	if opts.Path == "" {
		return nil, errors.New("decision log: a path is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 100 << 20
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 10
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1 << 16
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HeadLogInterval == 0 {
		opts.HeadLogInterval = time.Minute
	}
	w := &Writer{opts: opts, queue: make(chan *Entry, opts.QueueSize), done: make(chan struct{}), prev: zeroHash}
	if err := w.openFile(true); err != nil {
		return nil, err
	}
	if w.size == 0 {
		// An empty live file after rotated ones (a crash between the
		// rename and the header, or a deleted live file) continues the
		// newest rotated file rather than starting a second genesis.
		if err := w.continueRotated(); err != nil {
			w.file.Close()
			return nil, err
		}
	}
	w.setHead()
	w.registerMetrics(opts.Registerer)
	go w.loop()
	return w, nil
}

// Head is the sequence and hash of the last line written: what a witness
// records to detect, later, a log whose tail was cut off.
func (w *Writer) Head() Head {
	if h := w.head.Load(); h != nil {
		return *h
	}
	return Head{Hash: zeroHash}
}

func (w *Writer) setHead() { w.head.Store(&Head{Seq: w.seq, Hash: w.prev}) }

// logHead writes the head as a structured line (JSON on the webhook's
// stderr) for a witness that collects logs.
func (w *Writer) logHead(msg string) {
	h := w.Head()
	w.opts.Logger.Info(msg, "path", w.opts.Path, "seq", h.Seq, "hash", h.Hash)
}

func (w *Writer) registerMetrics(reg prometheus.Registerer) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "quartermaster_decision_log_" + name, Help: help})
	}
	w.m = writerMetrics{
		lines:     counter("lines_total", "Decision log lines written."),
		blocked:   counter("backpressure_total", "Decisions whose Record waited because the queue was full (the disk is behind); none are dropped."),
		errors:    counter("write_errors_total", "Failed writes, syncs or rotations of the decision log."),
		rotations: counter("rotations_total", "Decision log rotations by size."),
	}
	if reg != nil {
		reg.MustRegister(w.m.lines, w.m.blocked, w.m.errors, w.m.rotations,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "quartermaster_decision_log_queue_length",
				Help: "Decisions waiting to be written.",
			}, func() float64 { return float64(len(w.queue)) }),
			headCollector{w})
	}
}

var (
	headSeqDesc = prometheus.NewDesc("quartermaster_decision_log_head_sequence",
		"Sequence of the last decision log line written. A witness that records it can later find a log whose tail was removed (qm log verify --witness).",
		nil, nil)
	headHashDesc = prometheus.NewDesc("quartermaster_decision_log_head_hash_prefix",
		"The first 52 bits (13 hex digits) of the last line's SHA-256, as an integer (exact in a float64; printf %013x to compare). A label would make a new series per line.",
		nil, nil)
)

// headCollector exports the head from one snapshot, so that a scrape never
// pairs one line's sequence with another's hash.
type headCollector struct{ w *Writer }

func (c headCollector) Describe(ch chan<- *prometheus.Desc) { ch <- headSeqDesc; ch <- headHashDesc }

func (c headCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.w.Head()
	ch <- prometheus.MustNewConstMetric(headSeqDesc, prometheus.GaugeValue, float64(h.Seq))
	ch <- prometheus.MustNewConstMetric(headHashDesc, prometheus.GaugeValue, float64(HashPrefix(h.Hash)))
}

// HashPrefix is the integer the head-hash metric exports: the hash's first
// MinWitnessHexDigits hex digits (52 bits, exact in a float64).
func HashPrefix(hash string) uint64 {
	v, err := strconv.ParseUint(hash[:min(len(hash), MinWitnessHexDigits)], 16, 64)
	if err != nil {
		return 0
	}
	return v
}

// Record queues e. It returns at once unless the queue is full, in which
// case it waits for room: back-pressure instead of a lost line. Record after
// Close reports an error.
func (w *Writer) Record(e *Entry) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errors.New("decision log is closed")
	}
	select {
	case w.queue <- e:
	default:
		w.m.blocked.Inc()
		w.queue <- e
	}
	return nil
}

// Close writes every queued entry, syncs and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()
	<-w.done
	w.logHead("decision log closed")
	err := w.buf.Flush()
	if serr := w.file.Sync(); err == nil {
		err = serr
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing decision log: %w", err)
	}
	return nil
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.SyncInterval)
	defer tick.Stop()
	var headTick <-chan time.Time
	if w.opts.HeadLogInterval > 0 {
		t := time.NewTicker(w.opts.HeadLogInterval)
		defer t.Stop()
		headTick = t.C
	}
	dirty := false
	for {
		select {
		case <-headTick:
			w.logHead("decision log head")
		case e, ok := <-w.queue:
			if !ok {
				return
			}
			w.write(e)
			dirty = true
			if len(w.queue) == 0 {
				// Idle: hand the lines to the OS now rather than when the
				// buffer fills, so that a crash of this process loses none.
				w.check("flushing", w.buf.Flush())
			}
		case <-tick.C:
			if dirty {
				w.check("flushing", w.buf.Flush())
				w.check("syncing", w.file.Sync())
				dirty = false
			}
		}
	}
}

func (w *Writer) write(e *Entry) {
	l, err := encodeLine(w.scratch[:0], w.seq+1, w.prev, e)
	if err != nil {
		w.check("encoding", err)
		return
	}
	w.scratch = l
	if w.size > 0 && w.size+int64(len(l))+1 > w.opts.MaxBytes {
		err := w.rotate()
		w.check("rotating", err)
		if err == nil {
			// The header took the next sequence: link after it.
			if l, err = encodeLine(w.scratch[:0], w.seq+1, w.prev, e); err != nil {
				w.check("encoding", err)
				return
			}
			w.scratch = l
		}
	}
	if err := w.append(l); err != nil {
		w.check("writing", err)
		return
	}
	w.m.lines.Inc()
}

// append writes one encoded line and makes it the head of the chain.
func (w *Writer) append(l []byte) error {
	if _, err := w.buf.Write(l); err != nil {
		return err
	}
	_ = w.buf.WriteByte('\n')
	w.size += int64(len(l)) + 1
	w.seq++
	w.prev = lineHash(l)
	w.setHead()
	return nil
}

// writeHeader starts a file that continues the chain of prevFile with a
// rotation header line.
func (w *Writer) writeHeader(prevFile string) error {
	l, err := encodeHeader(nil, header{Seq: w.seq + 1, Time: w.opts.Now().UTC(), PrevSeq: w.seq, PrevFile: prevFile, Prev: w.prev})
	if err != nil {
		return err
	}
	if err := w.append(l); err != nil {
		return fmt.Errorf("writing rotation header: %w", err)
	}
	return nil
}

// continueRotated seeds an empty live file from the newest rotated file,
// if there is one, and writes the rotation header that links them.
func (w *Writer) continueRotated() error {
	old, _ := filepath.Glob(w.opts.Path + ".*")
	if len(old) == 0 {
		return nil
	}
	slices.Sort(old)
	newest := old[len(old)-1]
	f, err := os.Open(newest)
	if err != nil {
		return fmt.Errorf("continuing decision log from %s: %w", newest, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("continuing decision log from %s: %w", newest, err)
	}
	if info.Size() == 0 {
		return nil
	}
	last, err := lastLine(f, info.Size())
	if err != nil {
		return fmt.Errorf("continuing decision log from %s: %w", newest, err)
	}
	var head struct {
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal(last, &head); err != nil {
		return fmt.Errorf("continuing decision log from %s: last line: %w", newest, err)
	}
	w.seq, w.prev = head.Seq, lineHash(last)
	if err := w.writeHeader(filepath.Base(newest)); err != nil {
		return err
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("writing rotation header: %w", err)
	}
	return nil
}

func (w *Writer) check(what string, err error) {
	if err != nil {
		w.m.errors.Inc()
		w.opts.Logger.Error("decision log failed", "op", what, "path", w.opts.Path, "err", err)
	}
}

// rotate closes the live file under a time-stamped name and starts a new
// one; the chain continues across files.
func (w *Writer) rotate() error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if err := w.file.Sync(); err != nil {
		return err
	}
	if err := w.file.Close(); err != nil {
		return err
	}
	name := w.opts.Path + "." + w.opts.Now().UTC().Format("20060102T150405.000000000")
	if err := os.Rename(w.opts.Path, name); err != nil {
		return fmt.Errorf("renaming %s: %w", w.opts.Path, err)
	}
	w.m.rotations.Inc()
	if err := w.openFile(false); err != nil {
		return err
	}
	if err := w.writeHeader(filepath.Base(name)); err != nil {
		return err
	}
	old, _ := filepath.Glob(w.opts.Path + ".*")
	slices.Sort(old) // time stamps sort in time order
	for len(old) > w.opts.MaxFiles {
		if err := os.Remove(old[0]); err != nil {
			return fmt.Errorf("removing old decision log: %w", err)
		}
		old = old[1:]
	}
	return nil
}

func (w *Writer) openFile(resume bool) error {
	if err := os.MkdirAll(filepath.Dir(w.opts.Path), 0o750); err != nil {
		return fmt.Errorf("creating decision log directory: %w", err)
	}
	f, err := os.OpenFile(w.opts.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening decision log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening decision log: %w", err)
	}
	w.file, w.size = f, info.Size()
	w.buf = bufio.NewWriterSize(f, 64<<10)
	if resume && w.size > 0 {
		last, err := lastLine(f, w.size)
		if err != nil {
			f.Close()
			return fmt.Errorf("continuing decision log %s: %w", w.opts.Path, err)
		}
		var head struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(last, &head); err != nil {
			f.Close()
			return fmt.Errorf("continuing decision log %s: last line: %w", w.opts.Path, err)
		}
		w.seq, w.prev = head.Seq, lineHash(last)
	}
	return nil
}

// lastLine reads the final complete line of a file of size bytes.
func lastLine(f *os.File, size int64) ([]byte, error) {
	const chunk = 64 << 10
	start := max(0, size-chunk)
	for {
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf = bytes.TrimRight(buf, "\n")
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return buf[i+1:], nil
		}
		if start == 0 {
			return buf, nil
		}
		start = max(0, start-chunk)
	}
}
