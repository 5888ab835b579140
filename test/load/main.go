// Command load drives the admission webhook at a fixed arrival rate (an
// open loop: a slow answer does not slow the arrivals, so latency includes
// queueing) over HTTPS keep-alive connections, and reports latency
// percentiles and errors per request class. It also writes the synthetic
// catalogs the benchmark uses (-gen-catalog).
//
//	go run ./test/load -url https://127.0.0.1:9443/mutate -rate 1000 -duration 20s
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

type config struct {
	url         string
	rate        float64
	duration    time.Duration
	connections int
	gpuFraction float64
	maxInflight int
	timeout     time.Duration
	seed        int64
	jsonOut     string
	genCatalog  string
	offers      int
	genCert     string
	readyURL    string
	profileURL  string
	profileOut  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "https://127.0.0.1:9443/mutate", "webhook URL (loopback only)")
	fs.Float64Var(&c.rate, "rate", 500, "requests per second (fixed arrival rate)")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send (at most 5m)")
	fs.IntVar(&c.connections, "connections", 64, "keep-alive connections")
	fs.Float64Var(&c.gpuFraction, "gpu-fraction", 0.3, "share of GPU workloads (Deployments, Jobs, PyTorchJobs); the rest are plain Pods")
	fs.IntVar(&c.maxInflight, "max-inflight", 10000, "requests outstanding at once before new arrivals count as errors")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request client timeout (the API server's default)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the request mix")
	fs.StringVar(&c.jsonOut, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&c.genCatalog, "gen-catalog", "", "write a synthetic catalog to this file and exit")
	fs.IntVar(&c.offers, "offers", 5000, "offers in the synthetic catalog")
	fs.StringVar(&c.readyURL, "ready-url", "", "wait (up to 60 s) until this URL answers 200 before sending")
	fs.StringVar(&c.profileURL, "profile-url", "", "pprof base URL of the webhook (http://127.0.0.1:PORT); a CPU profile of the run is fetched")
	fs.StringVar(&c.profileOut, "profile-out", "cpu.pprof", "where the CPU profile goes")
	fs.StringVar(&c.genCert, "gen-cert", "", "write a self-signed loopback tls.crt and tls.key into this directory and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.genCatalog != "" {
		return writeCatalog(c.genCatalog, c.offers, c.seed)
	}
	if c.genCert != "" {
		return writeCert(c.genCert)
	}
	if err := c.validate(); err != nil {
		return err
	}
	bodies, err := newMix(c.seed, 2000, c.gpuFraction)
	if err != nil {
		return err
	}
	if c.readyURL != "" {
		if err := waitReady(ctx, c.readyURL, time.Minute); err != nil {
			return err
		}
	}
	profiled := make(chan error, 1)
	if c.profileURL != "" {
		go func() { profiled <- fetchProfile(c.profileURL, c.profileOut, c.duration) }()
	} else {
		profiled <- nil
	}
	rep := drive(ctx, &c, bodies, tlsConfig())
	if err := <-profiled; err != nil {
		return fmt.Errorf("fetching CPU profile: %w", err)
	}
	rep.print(out)
	if c.jsonOut != "" {
		js, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	if rep.All.Errors > 0 {
		return fmt.Errorf("%d errors", rep.All.Errors)
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.rate <= 0 || c.rate > 20000:
		return fmt.Errorf("-rate %v: want (0, 20000]", c.rate)
	case c.duration <= 0 || c.duration > 5*time.Minute:
		return fmt.Errorf("-duration %s: want (0, 5m]", c.duration)
	case c.connections < 1 || c.connections > 1024:
		return fmt.Errorf("-connections %d: want 1-1024", c.connections)
	case c.gpuFraction < 0 || c.gpuFraction > 1:
		return fmt.Errorf("-gpu-fraction %v: want 0-1", c.gpuFraction)
	case !isLoopback(c.url):
		return fmt.Errorf("-url %q: load is only sent to 127.0.0.1 or localhost", c.url)
	}
	return nil
}

// tlsConfig trusts the webhook's self-signed benchmark certificate: the
// target is loopback only (validate refuses anything else).
func tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // loopback benchmark
}
