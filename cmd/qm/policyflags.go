package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/policies"
)

// policyFlags select the policy bundle and the offline stand-ins for what the
// webhook reads from the cluster: cluster state, dataset inventory, user.
type policyFlags struct {
	dir          string
	noPolicies   bool
	clusterState string
	inventory    string
	user         string
	groups       []string
}

func (f *policyFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.dir, "policies", "", "policy bundle directory (default: the embedded library)")
	fs.BoolVar(&f.noPolicies, "no-policies", false, "evaluate no policy: placement only")
	fs.StringVar(&f.clusterState, "cluster-state", "", "StorageClasses, PersistentVolumeClaims and Namespaces as YAML (encryption evidence, namespace labels)")
	fs.StringVar(&f.inventory, "inventory", "", "dataset facts: datasets: [{location, cloud, region, encrypted, keyKind, sizeBytes}]")
	fs.StringVar(&f.user, "user", "", "the requesting user, as the webhook would see it")
	fs.StringSliceVar(&f.groups, "group", nil, "the requesting user's groups (repeatable)")
}

// policySetup is what eval needs from the flags.
type policySetup struct {
	engine   admission.PolicyEngine
	evidence admission.EvidenceCollector
	state    *encryption.ClusterState
}

func (f *policyFlags) load(ctx context.Context, regions *costing.Regions) (*policySetup, error) {
	s := &policySetup{}
	c := &encryption.Collector{Jurisdictions: regions}
	if f.clusterState != "" {
		st, err := readFile(f.clusterState, encryption.ReadClusterState)
		if err != nil {
			return nil, err
		}
		s.state, c.Claims = st, st
	}
	if f.inventory != "" {
		inv, err := readFile(f.inventory, encryption.ReadInventory)
		if err != nil {
			return nil, err
		}
		c.Datasets = inv
	}
	s.evidence = c
	if f.noPolicies {
		if f.dir != "" {
			return nil, fmt.Errorf("--policies and --no-policies exclude each other")
		}
		return s, nil
	}
	opts := policy.Options{Regions: regions}
	if f.dir != "" {
		// As the webhook loads it: a bundle whose own tests fail is refused.
		b, err := policy.LoadDir(ctx, f.dir, opts)
		if err != nil {
			return nil, err
		}
		s.engine = b
		return s, nil
	}
	// The embedded library's tests run in CI (qm test policies/rego).
	b, err := policy.Load(ctx, policies.FS(), opts)
	if err != nil {
		return nil, fmt.Errorf("loading the embedded policy library: %w", err)
	}
	s.engine = b
	return s, nil
}

func readFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	file, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("opening %s: %w", path, err)
	}
	defer file.Close()
	v, err := parse(file)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// namespaceLabels returns the labels of the object's namespace from the
// cluster state, or nil.
func (s *policySetup) namespaceLabels(obj map[string]any) map[string]string {
	if s.state == nil {
		return nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	return s.state.NamespaceLabels(ns)
}
