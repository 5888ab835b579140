package auditrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// pollEvery is how often shard 0 looks for the other shards' reports.
var pollEvery = 2 * time.Second

// mergeShards waits until every shard of the run has written its report
// beside out (out's parent holds shard-0 … shard-N-1), then merges them
// into dir. Reports are written by rename, so a report that exists is
// whole; one of another run (its Run.Shard or start time does not match)
// is not taken.
func mergeShards(ctx context.Context, out string, shard inventory.Shard, own *report.Report, dir string, wait time.Duration) (*report.Report, error) {
	base := filepath.Dir(filepath.Clean(out))
	deadline := time.Now().Add(wait)
	for {
		shards := []*report.Report{own}
		var missing []int
		for k := 1; k < shard.Count; k++ {
			r, err := ReadReport(filepath.Join(base, fmt.Sprintf("shard-%d", k), "report.json"))
			switch {
			case errors.Is(err, os.ErrNotExist):
				missing = append(missing, k)
				continue
			case err != nil:
				return nil, err
			}
			want := inventory.Shard{Index: k, Count: shard.Count}.String()
			if r.Run.Shard != want || r.Run.Start.Before(own.Run.Start.Add(-12*time.Hour)) {
				missing = append(missing, k) // an earlier run's, or another shard's file
				continue
			}
			shards = append(shards, r)
		}
		if len(missing) == 0 {
			m, err := report.Merge(shards)
			if err != nil {
				return nil, err
			}
			return m, WriteReports(dir, m)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("--merge-into: after %v, no report from shards %v in %s/shard-k", wait, missing, base)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
