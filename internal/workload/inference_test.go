package workload

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestParseLatencySLO: the one reader of "pQ=DURATION", shared by the
// latency-slo annotation and qm size --slo.
func TestParseLatencySLO(t *testing.T) {
	tests := map[string]struct {
		in      string
		q       float64
		latency time.Duration
		bad     bool
	}{
		"p99":                     {in: "p99=500ms", q: 0.99, latency: 500 * time.Millisecond},
		"p99.9":                   {in: "p99.9=1s", q: 0.999, latency: time.Second},
		"p50 with spaces around":  {in: " p50=2s ", q: 0.5, latency: 2 * time.Second},
		"trailing zero is a p99":  {in: "p99.0=1s", q: 0.99, latency: time.Second},
		"no p":                    {in: "99=1s", bad: true},
		"p100":                    {in: "p100=1s", bad: true},
		"p0":                      {in: "p0=1s", bad: true},
		"NaN":                     {in: "pNaN=1s", bad: true},
		"no duration":             {in: "p99", bad: true},
		"negative duration":       {in: "p99=-1s", bad: true},
		"space after =":           {in: "p99= 1s", bad: true},
		"empty":                   {in: "", bad: true},
		"duration without a unit": {in: "p99=500", bad: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, d, err := ParseLatencySLO(tc.in)
			if tc.bad {
				var ve *ValueError
				if !errors.As(err, &ve) || ve.Value != tc.in || !strings.Contains(err.Error(), "pQ=DURATION") {
					t.Fatalf("ParseLatencySLO(%q) = %v, %v, %v: want a *ValueError naming the value and the form", tc.in, q, d, err)
				}
				return
			}
			if err != nil || math.Abs(q-tc.q) > 1e-15 || d != tc.latency { // 99.9/100 rounds to 0.9990000000000001
				t.Fatalf("ParseLatencySLO(%q) = %v, %v, %v: want %v, %v", tc.in, q, d, err, tc.q, tc.latency)
			}
		})
	}
}

// TestParseServiceTime: the one reader of "DURATION[@MODEL]", shared by the
// service-time annotation and qm size --service-time.
func TestParseServiceTime(t *testing.T) {
	tests := map[string]struct {
		in    string
		d     time.Duration
		model string
		bad   bool
	}{
		"no model":             {in: "120ms", d: 120 * time.Millisecond},
		"model":                {in: "120ms@A100-80GB", d: 120 * time.Millisecond, model: "A100-80GB"},
		"alias is canonical":   {in: "80ms@h100", d: 80 * time.Millisecond, model: "H100"},
		"spaces around":        {in: " 1s@L4 ", d: time.Second, model: "L4"},
		"empty model":          {in: "120ms@", bad: true},
		"space before @":       {in: "120ms @H100", bad: true},
		"not a duration":       {in: "fast@L4", bad: true},
		"zero":                 {in: "0s", bad: true},
		"negative":             {in: "-1ms", bad: true},
		"model not a GPU name": {in: "1ms@/x", bad: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, model, err := ParseServiceTime(tc.in)
			if tc.bad {
				var ve *ValueError
				if !errors.As(err, &ve) || ve.Value != tc.in || !strings.Contains(err.Error(), "positive duration") {
					t.Fatalf("ParseServiceTime(%q) = %v, %q, %v: want a *ValueError", tc.in, d, model, err)
				}
				return
			}
			if err != nil || d != tc.d || model != tc.model {
				t.Fatalf("ParseServiceTime(%q) = %v, %q, %v: want %v, %q", tc.in, d, model, err, tc.d, tc.model)
			}
		})
	}
}
