package inventory

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// resetPeakRSS and peakRSS measure the process's peak resident set from a
// point on: writing 5 to /proc/self/clear_refs resets VmHWM (Linux ≥ 4.0).
func resetPeakRSS(b *testing.B) {
	b.Helper()
	// What the setup left in the heap goes back to the OS first, so that
	// the peak is the measured work's.
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS: %v", err)
	}
}

func peakRSS(b *testing.B) float64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func writeSynthetic(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	w, err := NewSnapshotWriter(buf, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := w.Write(Synthetic(i, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := buf.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSnapshotRead reads a snapshot of 100k and 1M synthetic
// resources: resources/s and the peak RSS of the read (goals: ≥ 100k/s,
// ≤ 256 MiB at 1M, flat in the size).
func BenchmarkSnapshotRead(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "snapshot.jsonl.gz")
			writeSynthetic(b, path, n)
			fi, _ := os.Stat(path)
			b.ResetTimer()
			resetPeakRSS(b)
			start := time.Now()
			for range b.N {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r, err := NewSnapshotReader(f)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				f.Close()
				if got != n {
					b.Fatalf("read %d of %d resources", got, n)
				}
			}
			secs := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/secs, "resources/s")
			b.ReportMetric(peakRSS(b), "peak-RSS-MiB")
			b.ReportMetric(float64(fi.Size())/float64(n), "bytes/resource")
		})
	}
}

// fleetScanner simulates an account's API calls: calls calls per account,
// every fifth throttled once (and retried), emitting perCall resources per
// successful call. It counts calls per account across runs.
type fleetScanner struct {
	calls, perCall int
	mu             sync.Mutex
	made           map[string]int
	throttled      atomic.Int64
}

func (f *fleetScanner) Scan(ctx context.Context, a Account, emit func(*Resource) error) error {
	for c := range f.calls {
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			f.mu.Lock()
			f.made[a.Key()]++
			n := f.made[a.Key()]
			f.mu.Unlock()
			time.Sleep(50 * time.Microsecond) // the call's latency
			if n%5 == 0 && attempt == 0 {
				f.throttled.Add(1)
				time.Sleep(100 * time.Microsecond) // the retryer's backoff
				continue
			}
			break
		}
		for k := range f.perCall {
			if err := emit(&Resource{Kind: KindDisk, ID: fmt.Sprintf("%s-%d-%d", a.ID, c, k), Account: a.ID, Cloud: a.Cloud, Region: "r",
				Disk: &Disk{SizeGiB: 10, Type: "gp3", Encryption: Encryption{Encrypted: true}}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkFleet scans a simulated fleet of accounts over three clouds, 20%
// of calls throttled, kills the run halfway and resumes it from its
// checkpoint: no account lost or counted twice, the calls repeated after
// the resume (goal ≤ 5%), wall time and peak RSS (flat in the accounts).
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{250, 1000} {
		b.Run(strconv.Itoa(n)+"-accounts", func(b *testing.B) {
			for range b.N {
				fleet(b, n)
			}
		})
	}
}

func fleet(b *testing.B, n int) {
	accounts := make([]Account, n)
	for i := range accounts {
		accounts[i] = Account{Cloud: []Cloud{CloudAWS, CloudAzure, CloudGCP}[i%3], ID: fmt.Sprintf("acct-%05d", i)}
	}
	sc := &fleetScanner{calls: 10, perCall: 20, made: map[string]int{}}
	scanners := map[Cloud]Scanner{CloudAWS: sc, CloudAzure: sc, CloudGCP: sc}
	dir := filepath.Join(b.TempDir(), "ckpt")
	r := &Runner{Scanners: scanners, Checkpoint: dir, Limits: Limits{PerCloud: map[Cloud]int{CloudAWS: 8, CloudAzure: 8, CloudGCP: 8}}}
	resetPeakRSS(b)
	start := time.Now()
	ctx, kill := context.WithCancel(context.Background())
	var delivered atomic.Int64
	_, err := r.Run(ctx, accounts, func(*Resource) error {
		if delivered.Add(1) == int64(n*10*20/2) {
			kill() // halfway through the inventory
		}
		return nil
	})
	if err == nil {
		b.Fatal("the killed run did not stop")
	}
	sc.mu.Lock()
	before := map[string]int{}
	for k, v := range sc.made {
		before[k] = v
	}
	sc.mu.Unlock()
	// Per account, not per resource: the check's own bookkeeping must not
	// grow with the inventory, or it would be what the peak RSS measures.
	// An account delivered twice, or half, has a count other than 200.
	seen := map[string]int{}
	sum, err := r.Run(context.Background(), accounts, func(res *Resource) error {
		seen[res.Account]++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	if sum.Failed != 0 || len(seen) != n {
		b.Fatalf("resumed run: %d failed, %d accounts delivered, want 0 and %d", sum.Failed, len(seen), n)
	}
	for k, c := range seen {
		if c != 10*20 {
			b.Fatalf("account %s: %d resources delivered, want exactly %d", k, c, 10*20)
		}
	}
	// Calls repeated: those the first run made for accounts it did not
	// finish, which the resumed run made again.
	repeated, total := 0, 0
	sc.mu.Lock()
	for k, v := range sc.made {
		total += v
		if b1 := before[k]; b1 > 0 && v > b1 {
			repeated += b1
		}
	}
	sc.mu.Unlock()
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(100*float64(repeated)/float64(total), "%-calls-repeated")
	b.ReportMetric(float64(sc.throttled.Load())/float64(total)*100, "%-calls-throttled")
	b.ReportMetric(peakRSS(b), "peak-RSS-MiB")
}
