package encryption

import (
	"bytes"
	"context"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// FuzzReadClusterState: any bytes give a state or an error, never a panic,
// and a state answers lookups.
func FuzzReadClusterState(f *testing.F) {
	f.Add([]byte(state))
	f.Add([]byte("kind: StorageClass\nmetadata: {name: a}\nprovisioner: ebs.csi.aws.com\nparameters: {encrypted: 1}\n"))
	f.Add([]byte("{\"kind\":\"List\",\"items\":[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":null}}}]}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := ReadClusterState(bytes.NewReader(raw))
		if err != nil {
			return
		}
		c := &Collector{Claims: st}
		for name := range st.claims {
			_ = c.volume("", "w", workload.Volume{Kind: "persistentVolumeClaim", ClaimName: name})
		}
		_ = c.volume("ml", "w", workload.Volume{Kind: "ephemeral"})
	})
}

// FuzzReadInventory: any bytes give an inventory or an error; lookups of
// any location never panic.
func FuzzReadInventory(f *testing.F) {
	f.Add([]byte("datasets: [{location: 's3://a', cloud: aws, region: r, encrypted: true, keyKind: customer-managed}]"), "s3://a/x")
	f.Add([]byte("datasets: []"), "gs://")
	f.Fuzz(func(t *testing.T, raw []byte, loc string) {
		inv, err := ReadInventory(bytes.NewReader(raw))
		if err != nil {
			return
		}
		c := &Collector{Datasets: inv}
		if _, err := c.Collect(context.Background(), &workload.Workload{Datasets: []string{loc}}); err != nil {
			t.Fatal(err)
		}
	})
}
