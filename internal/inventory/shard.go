package inventory

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one part of a sharded audit: Index of Count (--shard i/N).
type Shard struct{ Index, Count int }

// ParseShard reads "i/N" with 0 ≤ i < N; "" is the whole (0/1).
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{0, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 ≤ i < N, such as 0/4", s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Owns reports whether the shard scans an account. Accounts are spread by
// a hash of cloud/id: deterministic across pods and runs, and stable when
// accounts come and go (only those move), unlike cutting a sorted list.
func (s Shard) Owns(cloud Cloud, id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(string(cloud) + "/" + id))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// Select is the accounts the shard owns, in the given order.
func (s Shard) Select(accounts []Account) []Account {
	var out []Account
	for _, a := range accounts {
		if s.Owns(a.Cloud, a.ID) {
			out = append(out, a)
		}
	}
	return out
}

// Chain scans an account with several scanners in turn into one stream:
// a cluster's objects, then its GPU metrics. The first error stops it.
type Chain []Scanner

// Scan runs every scanner of the chain on a.
func (c Chain) Scan(ctx context.Context, a Account, emit func(*Resource) error) error {
	for _, s := range c {
		if err := s.Scan(ctx, a, emit); err != nil {
			return err
		}
	}
	return nil
}
