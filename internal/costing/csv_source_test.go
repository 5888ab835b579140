package costing

import (
	"bytes"
	"strings"
	"testing"
)

// TestCSVSourceColumn: the optional trailing source column reads and writes
// back, and files without it read as before and are written without it.
func TestCSVSourceColumn(t *testing.T) {
	const row = "aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.5,efa"
	tests := map[string]struct {
		in         string
		wantSource string
		wantErr    string
		wantHeader string
	}{
		"without the column": {
			in: header + row + "\n", wantHeader: CSVHeader,
		},
		"with the column": {
			in:         CSVHeader + ",source\n" + row + ",aws-price-list/20261101000000\n",
			wantSource: "aws-price-list/20261101000000", wantHeader: CSVHeader + ",source",
		},
		"with the column, empty": {
			in: CSVHeader + ",source\n" + row + ",\n", wantHeader: CSVHeader,
		},
		"a row without the column under a header with it": {
			in: CSVHeader + ",source\n" + row + "\n", wantErr: "wrong number of fields",
		},
		"a source value under a header without it": {
			in: header + row + ",x\n", wantErr: "wrong number of fields",
		},
		"another trailing column": {
			in: CSVHeader + ",origin\n" + row + ",x\n", wantErr: `optionally followed by ",source"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := ReadCSV(strings.NewReader(tc.in), nil, "test")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Offers()[0].Source; got != tc.wantSource {
				t.Errorf("source = %q, want %q", got, tc.wantSource)
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, c); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.wantHeader+"\n") {
				t.Errorf("written header: want %q in\n%s", tc.wantHeader, buf.String())
			}
			back, err := ReadCSV(&buf, nil, "back")
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			if got := back.Offers()[0].Source; got != tc.wantSource {
				t.Errorf("source read back = %q, want %q", got, tc.wantSource)
			}
		})
	}
}

func TestKnownGPUModel(t *testing.T) {
	tests := map[string]struct {
		in    string
		want  string
		known bool
	}{
		"aws name":     {"NVIDIA H100", H100, true},
		"gcp name":     {"nvidia-tesla-a100", A100, true},
		"azure name":   {"A100 80GB", A100_80G, true},
		"unknown name": {"Radeon Pro V520", "RADEON PRO V520", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, known := KnownGPUModel(tc.in)
			if got != tc.want || known != tc.known {
				t.Errorf("KnownGPUModel(%q) = %q, %v; want %q, %v", tc.in, got, known, tc.want, tc.known)
			}
		})
	}
}

// FuzzCSVRoundTrip: whatever ReadCSV accepts, WriteCSV writes a file that
// reads back to the same offers, per-row sources included.
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add([]byte(CSVHeader + ",source\naws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.5,efa,aws-price-list/1\n"))
	f.Add([]byte(CSVHeader + ",source\naws,us-east-1,,g5.xlarge,A10G,1,24,4,16,1.006,,,\"a,b\"\n"))
	f.Add([]byte(header + "gcp,us-central1,us-central1-a,a2-highgpu-1g,A100,1,40,12,85,3.67,1.1,\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadCSV(bytes.NewReader(in), nil, "fuzz")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, c); err != nil {
			t.Fatalf("writing an accepted catalog: %v", err)
		}
		back, err := ReadCSV(&buf, nil, "fuzz")
		if err != nil {
			t.Fatalf("reading back: %v\n%s", err, buf.String())
		}
		if back.Len() != c.Len() {
			t.Fatalf("read back %d offers, want %d", back.Len(), c.Len())
		}
		for i, o := range c.Offers() {
			b := back.Offers()[i]
			if b.Key() != o.Key() || b.Source != o.Source || b.PriceHourly != o.PriceHourly || b.SpotPriceHourly != o.SpotPriceHourly {
				t.Fatalf("offer %d: read back %+v, want %+v", i, b, o)
			}
		}
	})
}
