package costing

import "testing"

func TestEgressPerGiB(t *testing.T) {
	tab := DefaultEgress()
	tests := map[string]struct {
		src           Location
		cloud, region string
		want          float64
	}{
		"same region is free":                 {Location{AWS, "us-east-1"}, AWS, "us-east-1", 0},
		"inter-region":                        {Location{AWS, "us-east-1"}, AWS, "eu-west-1", 0.02},
		"unknown region is not assumed local": {Location{GCP, ""}, GCP, "us-central1", 0.02},
		"other cloud is internet egress":      {Location{GCP, "us-central1"}, AWS, "us-east-1", 0.12},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tab.PerGiB(tc.src, tc.cloud, tc.region); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDatasetCloud(t *testing.T) {
	for in, want := range map[string]string{"s3://b/k": AWS, "gs://b/": GCP, "abfss://c@a.dfs.core.windows.net/p": Azure,
		"https://a.blob.core.windows.net/c": Azure, "https://example.com/x": "", "nope": ""} {
		got, err := DatasetCloud(in)
		if got != want || (want == "") != (err != nil) {
			t.Fatalf("DatasetCloud(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzDatasetCloud(f *testing.F) {
	for _, s := range []string{"s3://b/k", "gs://x", "https://a.blob.core.windows.net/c", "%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DatasetCloud(s)
		if (err == nil) == (c == "") {
			t.Fatalf("DatasetCloud(%q) = %q, %v: want a cloud or an error", s, c, err)
		}
	})
}
