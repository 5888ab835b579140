package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/quota"
)

// catalogSteps describe the world a decision reads: offers, quotas, usage,
// the cluster's storage and namespaces, and the dataset inventory.
var catalogSteps = []step{
	{`^a catalog with these offers:$`, aCatalog},
	{`^a quota of (\d+) "([^"]*)" GPUs in "([^"]*)" "([^"]*)"$`, aQuota},
	{`^(\d+) "([^"]*)" GPUs are already in use in "([^"]*)" "([^"]*)"$`, inUse},
	{`^the cluster has these storage classes:$`, storageClasses},
	{`^the cluster has these volume claims:$`, volumeClaims},
	{`^the namespace "([^"]*)" is labelled with team "([^"]*)"$`, namespaceTeam},
	{`^the dataset inventory knows:$`, datasetInventory},
}

// table reads a godog table by header name. A missing header is an error
// naming it, never column 0.
type table struct {
	col  map[string]int
	rows [][]string
}

func readTable(t *godog.Table, required ...string) (*table, error) {
	if t == nil || len(t.Rows) < 2 {
		return nil, errors.New("the table needs a header row and at least one row")
	}
	out := &table{col: map[string]int{}}
	for i, c := range t.Rows[0].Cells {
		out.col[strings.TrimSpace(c.Value)] = i
	}
	for _, name := range required {
		if _, ok := out.col[name]; !ok {
			return nil, fmt.Errorf("the table has no column %q", name)
		}
	}
	for _, r := range t.Rows[1:] {
		row := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			row[i] = strings.TrimSpace(c.Value)
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}

// get returns a row's cell in the named column, "" when the table has no
// such (optional) column.
func (t *table) get(row []string, name string) string {
	i, ok := t.col[name]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

// aCatalog replaces the catalog with the offers of the table, in the
// catalog's CSV format (contract 4.4): the engine reads it as --catalog.
// It is parsed here too, so that a bad table fails this step, not a later
// one.
func aCatalog(ctx context.Context, t *godog.Table) error {
	csv, err := catalogCSV(t)
	if err != nil {
		return err
	}
	if _, err := costing.ReadCSV(strings.NewReader(csv), costing.DefaultRegions(), "the scenario's catalog"); err != nil {
		return err
	}
	get(ctx).catalogCSV = csv
	return nil
}

// catalogCSV writes a table of offers in the catalog's CSV format.
func catalogCSV(t *godog.Table) (string, error) {
	tab, err := readTable(t, "cloud", "region", "instance type", "gpu model", "gpus", "vcpus", "memory gib", "price")
	if err != nil {
		return "", fmt.Errorf("offers: %w", err)
	}
	var b strings.Builder
	b.WriteString("# as-of: 2026-11-01\n" + costing.CSVHeader + "\n")
	for _, r := range tab.rows {
		fields := []string{tab.get(r, "cloud"), tab.get(r, "region"), "", tab.get(r, "instance type"), tab.get(r, "gpu model"),
			tab.get(r, "gpus"), tab.get(r, "gpu memory gib"), tab.get(r, "vcpus"), tab.get(r, "memory gib"),
			tab.get(r, "price"), tab.get(r, "spot price"), tab.get(r, "capabilities")}
		b.WriteString(strings.Join(fields, ",") + "\n")
	}
	return b.String(), nil
}

func aQuota(ctx context.Context, gpus int, model, cloud, region string) error {
	get(ctx).quotas[quota.Key{Cloud: cloud, Region: region, GPUModel: model}] = int64(gpus)
	return nil
}

func inUse(ctx context.Context, gpus int, model, cloud, region string) error {
	get(ctx).usage[quota.Key{Cloud: cloud, Region: region, GPUModel: model}] += int64(gpus)
	return nil
}

// storageClasses adds StorageClasses to the cluster state; parameters are
// key=value pairs separated by spaces.
func storageClasses(ctx context.Context, t *godog.Table) error {
	tab, err := readTable(t, "name", "provisioner")
	if err != nil {
		return fmt.Errorf("storage classes: %w", err)
	}
	w := get(ctx)
	for _, r := range tab.rows {
		var params []string
		for _, kv := range strings.Fields(tab.get(r, "parameters")) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("storage class %s: parameter %q: want key=value", tab.get(r, "name"), kv)
			}
			params = append(params, fmt.Sprintf("%s: %q", k, v))
		}
		doc := fmt.Sprintf("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: %s}\nprovisioner: %s\nparameters: {%s}\n",
			tab.get(r, "name"), tab.get(r, "provisioner"), strings.Join(params, ", "))
		w.clusterState = append(w.clusterState, doc)
	}
	return nil
}

func volumeClaims(ctx context.Context, t *godog.Table) error {
	tab, err := readTable(t, "namespace", "name", "storage class")
	if err != nil {
		return fmt.Errorf("volume claims: %w", err)
	}
	w := get(ctx)
	for _, r := range tab.rows {
		w.clusterState = append(w.clusterState, fmt.Sprintf(
			"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s, namespace: %s}\nspec: {storageClassName: %s, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Ti}}}\n",
			tab.get(r, "name"), tab.get(r, "namespace"), tab.get(r, "storage class")))
	}
	return nil
}

func namespaceTeam(ctx context.Context, ns, team string) error {
	w := get(ctx)
	w.clusterState = append(w.clusterState, fmt.Sprintf(
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {quartermaster.io/team: %s}}\n", ns, team))
	return nil
}

// datasetInventory adds what the inventory knows about dataset buckets.
func datasetInventory(ctx context.Context, t *godog.Table) error {
	tab, err := readTable(t, "location", "cloud", "region", "encrypted")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	w := get(ctx)
	for _, r := range tab.rows {
		enc, err := strconv.ParseBool(tab.get(r, "encrypted"))
		if err != nil {
			return fmt.Errorf("inventory %s: encrypted %q: want true or false", tab.get(r, "location"), tab.get(r, "encrypted"))
		}
		w.inventory = append(w.inventory, encryption.DatasetFacts{Location: tab.get(r, "location"), Cloud: tab.get(r, "cloud"),
			Region: tab.get(r, "region"), Encrypted: enc, KeyKind: tab.get(r, "key")})
	}
	return nil
}
