package inventory

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleResources() []*Resource {
	obs := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	return []*Resource{
		{Kind: KindInstance, ID: "i-0abc", Account: "111111111111", Cloud: CloudAWS, Region: "us-east-1", Zone: "us-east-1a",
			Labels: map[string]string{"team": "vision"}, Created: obs.Add(-72 * time.Hour), Observed: obs,
			Instance: &Instance{InstanceType: "p5.48xlarge", State: "running", CapacityType: "on-demand", GPUModel: "H100", GPUCount: 8, Disks: []string{"vol-1"}}},
		{Kind: KindDisk, ID: "vol-1", Account: "111111111111", Cloud: CloudAWS, Region: "us-east-1", Observed: obs,
			Disk: &Disk{SizeGiB: 2000, Type: "gp3", Encryption: Encryption{Encrypted: true, KeyKind: KeyCustomerManaged, KeyID: "arn:aws:kms:us-east-1:111111111111:key/k"}, AttachedTo: "i-0abc"}},
		{Kind: KindBucket, ID: "gs://ckpt", Account: "ml-prod-1234", Cloud: CloudGCP, Region: "europe-west4", Observed: obs,
			Bucket: &Bucket{Location: "EUROPE-WEST4", PublicAccessBlocked: true, Versioning: false}},
		{Kind: KindWorkload, ID: "ml/train", Account: "prod-eu", Cloud: CloudKube, Namespace: "ml", Observed: obs,
			Workload: &Workload{APIVersion: "batch/v1", Object: map[string]any{"kind": "Job", "spec": map[string]any{"parallelism": float64(4)}}}},
		{Kind: KindGPUUsage, ID: "node-1/0", Account: "prod-eu", Cloud: CloudKube, Observed: obs,
			GPUUsage: &GPUUsage{Node: "node-1", GPU: "0", Pod: "train-0", PodNamespace: "ml", Metric: "DCGM_FI_PROF_GR_ENGINE_ACTIVE", MeanUtilisation: 0.02, MaxUtilisation: 0.1, MemoryUsedMiB: 512, Window: 24 * time.Hour}},
		{Kind: KindNamespace, ID: "ml", Account: "prod-eu", Cloud: CloudKube, Labels: map[string]string{"quartermaster.io/team": "ml"}, Observed: obs},
	}
}

func writeSnapshot(t testing.TB, rs []*Resource) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewSnapshotWriter(&buf, time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(data []byte) ([]*Resource, error) {
	r, err := NewSnapshotReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []*Resource
	for {
		res, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	want := sampleResources()
	data := writeSnapshot(t, want)
	got, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	r, _ := NewSnapshotReader(bytes.NewReader(data))
	if !r.Created().Equal(time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("created %v", r.Created())
	}
}

func gunzip(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// Every damage a snapshot can suffer is an error that says what is wrong:
// nothing is read as a smaller, valid inventory.
func TestSnapshotDamage(t *testing.T) {
	plain := gunzip(t, writeSnapshot(t, sampleResources()))
	lines := strings.Split(strings.TrimSpace(plain), "\n")
	header, trailer := lines[0], lines[len(lines)-1]
	body := lines[1 : len(lines)-1]
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	tests := map[string]struct {
		in, want string
	}{
		"empty":             {"", "empty"},
		"not a snapshot":    {join(`{"kind":"Disk"}`), "not a quartermaster.io/inventory-snapshot header"},
		"newer version":     {join(strings.Replace(header, `"version":1`, `"version":2`, 1)), "version 2: this build reads version 1"},
		"cut short":         {join(append([]string{header}, body[:3]...)...), "ends after 3 resources without its trailer"},
		"line removed":      {join(append(append([]string{header}, body[1:]...), trailer)...), "trailer counts 6 resources, the file holds 5"},
		"appended":          {join(append(append([]string{header}, body...), trailer, body[0])...), "data after the trailer"},
		"unknown field":     {join(header, strings.Replace(body[0], `"kind"`, `"knd":"x","kind"`, 1), trailer), `line 2: json: unknown field "knd"`},
		"wrong part":        {join(header, strings.Replace(body[1], `"disk"`, `"bucket"`, 1), trailer), "line 2"},
		"unknown kind":      {join(header, strings.Replace(body[0], `"kind":"Instance"`, `"kind":"Lambda"`, 1), trailer), `unknown kind "Lambda"`},
		"no account":        {join(header, strings.Replace(body[0], `"account":"111111111111"`, `"account":""`, 1), trailer), "without id, account or cloud"},
		"bad cloud":         {join(header, strings.Replace(body[0], `"cloud":"aws"`, `"cloud":"oracle"`, 1), trailer), `cloud "oracle"`},
		"malformed trailer": {join(append(append([]string{header}, body...), `{"end":"yes"}`)...), "malformed trailer"},
		"two values a line": {join(header, body[0]+" "+body[0], trailer), "more than one JSON value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := readAll([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// A truncated gzip stream fails too, whatever the cut.
	data := writeSnapshot(t, sampleResources())
	for _, cut := range []int{len(data) - 1, len(data) - 9, len(data) / 2} {
		if _, err := readAll(data[:cut]); err == nil {
			t.Errorf("a gzip stream cut at %d of %d bytes read without error", cut, len(data))
		}
	}
	// And the plain form reads as the compressed one does.
	if got, err := readAll([]byte(plain)); err != nil || len(got) != 6 {
		t.Errorf("plain snapshot: %d resources, err %v", len(got), err)
	}
}

func TestSnapshotLineLimit(t *testing.T) {
	huge := &Resource{Kind: KindWorkload, ID: "ml/big", Account: "c", Cloud: CloudKube,
		Workload: &Workload{Object: map[string]any{"data": strings.Repeat("x", MaxSnapshotLine)}}}
	_, err := readAll(writeSnapshot(t, []*Resource{huge}))
	if err == nil || !strings.Contains(err.Error(), "line 2 is longer than 16 MiB") {
		t.Errorf("err = %v", err)
	}
}

func TestSnapshotWriterStaysFailed(t *testing.T) {
	w, err := NewSnapshotWriter(&failAfter{n: 1 << 20}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bad := &Resource{Kind: KindWorkload, ID: "x", Account: "a", Cloud: CloudKube, Workload: &Workload{Object: map[string]any{"f": func() {}}}}
	if err := w.Write(bad); err == nil {
		t.Fatal("an unencodable resource was written")
	}
	if err := w.Write(sampleResources()[0]); err == nil || w.Close() == nil {
		t.Error("the writer went on after an error")
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func FuzzReadSnapshot(f *testing.F) {
	f.Add(writeSnapshot(f, sampleResources()))
	f.Add([]byte(`{"format":"quartermaster.io/inventory-snapshot","version":1,"created":"2026-11-29T00:00:00Z"}` + "\n" + `{"end":true,"resources":0}` + "\n"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewSnapshotReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 10000 {
			res, err := r.Next()
			if err != nil {
				return
			}
			if res.Validate() != nil {
				t.Fatalf("the reader returned an invalid resource: %+v", res)
			}
		}
	})
}
