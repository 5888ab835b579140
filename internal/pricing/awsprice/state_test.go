package awsprice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadState(t *testing.T) {
	tests := map[string]struct {
		content string // "" : no file
		regions int
		wantErr string
	}{
		"no file, first refresh": {regions: 0},
		"a region": {content: `{"regions":{"us-east-1":{"version":"/offers/v1.0/aws/AmazonEC2/1/us-east-1/index.json",` +
			`"rows":[{"instanceType":"p5.48xlarge","gpuCount":8,"vcpus":192,"memoryGiB":2048,"priceHourly":55.04}]}}}`, regions: 1},
		"empty object": {content: `{}`, regions: 0},
		"corrupt":      {content: `{"regions":`, wantErr: "delete it to download every region again"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := LoadState(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Regions) != tc.regions {
				t.Errorf("%d regions, want %d", len(s.Regions), tc.regions)
			}
			// Saving into a directory that does not exist yet creates it.
			out := filepath.Join(t.TempDir(), "cache", "quartermaster", "state.json")
			if err := s.Save(out); err != nil {
				t.Fatal(err)
			}
			back, err := LoadState(out)
			if err != nil || len(back.Regions) != tc.regions {
				t.Fatalf("read back %v regions, err %v", back, err)
			}
		})
	}
}
