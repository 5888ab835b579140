package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		r, err := http.Get(url)
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last error %v)", url, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fetchProfile records a CPU profile over the middle of the run (skipping
// the first and last seconds of ramp-up and drain).
func fetchProfile(base, out string, run time.Duration) error {
	secs := int(run.Seconds()) - 4
	if secs < 1 {
		secs = 1
	}
	time.Sleep(2 * time.Second)
	r, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: HTTP %d", r.StatusCode)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
