package inventory

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]string{"": "0/1", "0/4": "0/4", "3/4": "3/4"} {
		s, err := ParseShard(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	for _, bad := range []string{"4/4", "-1/4", "1/0", "1", "a/b", "1/4/2"} {
		if _, err := ParseShard(bad); err == nil || !strings.Contains(err.Error(), "want i/N") {
			t.Errorf("ParseShard(%q) = %v", bad, err)
		}
	}
}

// Every account belongs to exactly one shard, shards are balanced within
// reason, and adding accounts moves none of the existing ones.
func TestShardsPartitionAccounts(t *testing.T) {
	const n = 4
	accounts := make([]Account, 1000)
	for i := range accounts {
		accounts[i] = Account{Cloud: []Cloud{CloudAWS, CloudAzure, CloudGCP}[i%3], ID: fmt.Sprintf("acct-%04d", i)}
	}
	owner := map[string]int{}
	for i := range n {
		sel := Shard{i, n}.Select(accounts)
		if len(sel) < 200 || len(sel) > 300 {
			t.Errorf("shard %d/%d has %d of 1000 accounts", i, n, len(sel))
		}
		for _, a := range sel {
			if j, dup := owner[a.Key()]; dup {
				t.Fatalf("%s in shards %d and %d", a.Key(), j, i)
			}
			owner[a.Key()] = i
		}
	}
	if len(owner) != len(accounts) {
		t.Fatalf("%d accounts in some shard, want %d", len(owner), len(accounts))
	}
	more := append(accounts, Account{Cloud: CloudAWS, ID: "new-1"}, Account{Cloud: CloudGCP, ID: "new-2"})
	for i := range n {
		for _, a := range (Shard{i, n}).Select(more) {
			if j, ok := owner[a.Key()]; ok && j != i {
				t.Errorf("%s moved from shard %d to %d when accounts were added", a.Key(), j, i)
			}
		}
	}
}
