package inventory

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
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
