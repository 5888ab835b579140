package auditrun

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// BenchmarkAudit is the whole run on 100k and 1M synthetic resources: read
// the snapshot, every check, every report (goals: ≥ 50k resources/s end to
// end, ≤ 512 MiB peak RSS at 1M).
func BenchmarkAudit(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "snapshot.jsonl.gz")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			buf := bufio.NewWriterSize(f, 1<<20)
			w, err := inventory.NewSnapshotWriter(buf, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := w.Write(inventory.Synthetic(i, 1000)); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if err := buf.Flush(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			cfg := NewConfig()
			cfg.Snapshot, cfg.Out = path, filepath.Join(dir, "out")
			debug.FreeOSMemory()
			if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			var findings int
			for range b.N {
				o, err := Run(context.Background(), cfg, Deps{Now: clock})
				if err != nil {
					b.Fatal(err)
				}
				findings = len(o.Report.Findings)
			}
			secs := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/secs, "resources/s")
			b.ReportMetric(float64(findings), "findings")
			status, _ := os.ReadFile("/proc/self/status")
			for _, l := range strings.Split(string(status), "\n") {
				if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
					kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
					b.ReportMetric(kb/1024, "peak-RSS-MiB")
				}
			}
		})
	}
}
