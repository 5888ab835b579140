package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
)

func isLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// sample is one request's result.
type sample struct {
	gpu     bool
	latency time.Duration
	err     string
}

// Stats summarise one class of requests.
type Stats struct {
	Requests int            `json:"requests"`
	Errors   int            `json:"errors"`
	ErrorsBy map[string]int `json:"errorsBy,omitempty"`
	P50      float64        `json:"p50Ms"`
	P90      float64        `json:"p90Ms"`
	P99      float64        `json:"p99Ms"`
	P999     float64        `json:"p999Ms"`
	Max      float64        `json:"maxMs"`
}

// Report is the run's result.
type Report struct {
	Rate        float64 `json:"rate"`
	Duration    string  `json:"duration"`
	Sent        int     `json:"sent"`
	AchievedRPS float64 `json:"achievedRps"`
	// MaxLag is how far the sender fell behind its schedule; latencies are
	// measured from the scheduled time, so lag counts against the webhook.
	MaxLagMs float64 `json:"maxLagMs"`
	All      Stats   `json:"all"`
	GPU      Stats   `json:"gpu"`
	NonGPU   Stats   `json:"nonGpu"`
}

// drive sends at c.rate for c.duration. Request i is due at start + i/rate;
// its latency runs from when it was due, not when it was sent.
func drive(ctx context.Context, c *config, mix *mix, tlsCfg *tls.Config) *Report {
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		MaxIdleConns:        c.connections,
		MaxIdleConnsPerHost: c.connections,
		MaxConnsPerHost:     c.connections,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.timeout}
	n := int(c.rate * c.duration.Seconds())
	samples := make([]sample, n)
	sem := make(chan struct{}, c.maxInflight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / c.rate)
	start := time.Now()
	var maxLag time.Duration
	sent := 0
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		maxLag = max(maxLag, time.Since(due))
		body, gpu := mix.next(i)
		sent++
		select {
		case sem <- struct{}{}:
		default:
			samples[i] = sample{gpu: gpu, err: "client overload (max-inflight)"}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			samples[i] = send(client, c.url, body, gpu, due)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	samples = samples[:sent]
	rep := &Report{Rate: c.rate, Duration: c.duration.String(), Sent: sent, AchievedRPS: float64(sent) / elapsed.Seconds(),
		MaxLagMs: ms(maxLag)}
	rep.All = summarise(samples, func(sample) bool { return true })
	rep.GPU = summarise(samples, func(s sample) bool { return s.gpu })
	rep.NonGPU = summarise(samples, func(s sample) bool { return !s.gpu })
	return rep
}

func send(client *http.Client, url string, b body, gpu bool, due time.Time) sample {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b.json))
	if err != nil {
		return sample{gpu: gpu, err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return sample{gpu: gpu, latency: time.Since(due), err: "transport"}
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(due)
	switch {
	case err != nil:
		return sample{gpu: gpu, latency: lat, err: "reading response"}
	case resp.StatusCode != http.StatusOK:
		return sample{gpu: gpu, latency: lat, err: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	case !bytes.Contains(data, b.wantUID):
		return sample{gpu: gpu, latency: lat, err: "wrong uid"}
	case !bytes.Contains(data, []byte(`"allowed":true`)):
		return sample{gpu: gpu, latency: lat, err: "not allowed"}
	case gpu && !bytes.Contains(data, []byte(`"patchType":"JSONPatch"`)):
		return sample{gpu: gpu, latency: lat, err: "GPU workload not patched"}
	}
	return sample{gpu: gpu, latency: lat}
}

func summarise(samples []sample, keep func(sample) bool) Stats {
	var st Stats
	var lat []time.Duration
	for _, s := range samples {
		if !keep(s) {
			continue
		}
		st.Requests++
		if s.err != "" {
			st.Errors++
			if st.ErrorsBy == nil {
				st.ErrorsBy = map[string]int{}
			}
			st.ErrorsBy[s.err]++
			continue
		}
		lat = append(lat, s.latency)
	}
	if len(lat) == 0 {
		return st
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.5) - 1
		return ms(lat[min(max(i, 0), len(lat)-1)])
	}
	st.P50, st.P90, st.P99, st.P999, st.Max = q(0.5), q(0.9), q(0.99), q(0.999), ms(lat[len(lat)-1])
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "rate %.0f/s for %s: sent %d (%.0f/s achieved), sender max lag %.2f ms\n", r.Rate, r.Duration, r.Sent, r.AchievedRPS, r.MaxLagMs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\trequests\terrors\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, c := range []struct {
		name string
		s    Stats
	}{{"all", r.All}, {"gpu", r.GPU}, {"non-gpu", r.NonGPU}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", c.name, c.s.Requests, c.s.Errors, c.s.P50, c.s.P90, c.s.P99, c.s.P999, c.s.Max)
	}
	tw.Flush()
	for k, v := range r.All.ErrorsBy {
		fmt.Fprintf(w, "  error %q: %d\n", k, v)
	}
}
