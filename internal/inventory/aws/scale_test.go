package aws

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// TestScale200Accounts scans 200 accounts × 3 regions through
// inventory.Runner within its limits, against the fakes, and holds the
// scanner to one aws.Config and one credential provider per account (one
// AssumeRole each), with the peak heap measured. The fake servers run in
// the same process, so the heap figure includes them: it is an upper bound
// of the scanner's.
func TestScale200Accounts(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const accounts, perCloud, perAccount = 200, 16, 3
	regions := []string{"eu-west-1", "eu-central-1", "us-east-1"}
	f := newFakeAWS(t)
	f.PageSize = 100
	var list []inventory.Account
	for i := range accounts {
		id := fmt.Sprintf("%012d", 300000000000+i)
		acc := &fakeAccount{Enabled: regions, Regions: map[string]*fakeRegion{}}
		for _, r := range regions {
			acc.Regions[r] = &fakeRegion{
				Keys: []fakeKey{{ID: "cmk", Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Rotation: true, Created: t0}},
				Instances: []fakeInstance{
					{ID: "i-gpu-" + r, Type: "p5.48xlarge", State: "running", Zone: r + "a", Launch: t0, Volumes: []string{"vol-a-" + r}},
					{ID: "i-cpu-" + r, Type: "m7i.large", State: "stopped", Zone: r + "b", Launch: t0},
				},
				Volumes: []fakeVolume{
					{ID: "vol-a-" + r, Size: 100, Type: "gp3", Encrypted: true, Key: keyARN(r, id, "cmk"), AttachedTo: "i-gpu-" + r, Zone: r + "a", Created: t0},
					{ID: "vol-b-" + r, Size: 50, Type: "gp3", Zone: r + "b", Created: t0},
				},
				Snapshots: []fakeSnapshot{{ID: "snap-" + r, Volume: "vol-a-" + r, Size: 100, Encrypted: true, Key: keyARN(r, id, "cmk"), Start: t0}},
			}
		}
		acc.Buckets = []fakeBucket{{Name: "bucket-" + id, Location: "eu-west-1", Created: t0, SSE: "AES256", Block: &[4]bool{true, true, true, true}, Versioning: "Enabled"}}
		f.Accounts[id] = acc
		list = append(list, inventory.Account{Cloud: inventory.CloudAWS, ID: id, RoleARN: f.RoleARN(id)})
	}
	cfg := testConfig(f)
	cfg.PerAccount = perAccount
	s := newTestScanner(t, cfg)
	runner := &inventory.Runner{
		Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudAWS: s},
		Limits:   inventory.Limits{PerCloud: map[inventory.Cloud]int{inventory.CloudAWS: perCloud}, PerAccount: perAccount},
	}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	var sunk int64
	sum, err := runner.Run(context.Background(), list, func(*inventory.Resource) error { sunk++; return nil })
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}

	const perAccountResources = 3*6 + 1 // per region 2 instances, 2 volumes, 1 snapshot, 1 key; 1 bucket
	if sum.Failed != 0 || sum.Resources != accounts*perAccountResources || sunk != sum.Resources {
		t.Errorf("summary: %d failed, %d resources (%d sunk), want 0 and %d", sum.Failed, sum.Resources, sunk, accounts*perAccountResources)
	}
	st := s.Stats()
	if st.Configs != accounts || st.CredentialProviders != accounts {
		t.Errorf("built %d aws.Config and %d credential providers for %d accounts, want one each per account", st.Configs, st.CredentialProviders, accounts)
	}
	assumed := map[string]int{}
	for _, c := range f.AssumeCalls() {
		assumed[c.Role]++
	}
	for _, a := range list {
		if assumed[a.RoleARN] != 1 {
			t.Errorf("%s assumed %d times, want once", a.RoleARN, assumed[a.RoleARN])
		}
	}
	t.Logf("%d accounts × %d regions, %d resources in %v (per cloud %d, per account %d): %d aws.Config, %d credential providers, %d AssumeRole, %d service clients derived",
		accounts, len(regions), sum.Resources, took.Round(time.Millisecond), perCloud, perAccount, st.Configs, st.CredentialProviders, len(f.AssumeCalls()), st.Clients)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("heap: %.1f MiB before, peak %.1f MiB during the run, %.1f MiB after it (fakes and their call logs included)",
		mib(base.HeapAlloc), mib(peak), mib(after.HeapAlloc))
	// About three times what it measures here (20 MiB), so that a
	// scanner keeping every account's clients or records, the shape of
	// CloudQuery's 25 GB, fails it.
	if peak > 64<<20 {
		t.Errorf("peak heap %.1f MiB, want under 64 MiB", mib(peak))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
