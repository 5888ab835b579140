package workload

import (
	"strings"
	"testing"
)

func TestProfiles(t *testing.T) {
	tests := map[string]struct {
		overrides [][2]string
		wantErr   string
		check     func(t *testing.T, k LabelKeys)
	}{
		"quartermaster": {check: func(t *testing.T, k LabelKeys) {
			d := DefaultLabelKeys()
			d.Profile = "quartermaster"
			if k != d {
				t.Errorf("keys = %+v, want the defaults", k)
			}
		}},
		"karpenter": {check: func(t *testing.T, k LabelKeys) {
			if k.Cloud != "" || k.CapacityType != "karpenter.sh/capacity-type" || k.ClusterCloud != "aws" || !k.PinsOnDemand() {
				t.Errorf("keys = %+v", k)
			}
		}},
		"gke": {check: func(t *testing.T, k LabelKeys) {
			if k.CapacityOf("true") != "spot" || k.CapacityOf("") != "on-demand" || k.PinsOnDemand() {
				t.Errorf("keys = %+v", k)
			}
		}},
		"eks": {check: func(t *testing.T, k LabelKeys) {
			if k.CapacityOf("SPOT") != "spot" || k.CapacityOf("ON_DEMAND") != "on-demand" || k.CapacityOf("x") != "x" {
				t.Errorf("keys = %+v", k)
			}
		}},
		"aks": {check: func(t *testing.T, k LabelKeys) {
			if k.ClusterCloud != "azure" || k.SpotTaint != "kubernetes.azure.com/scalesetpriority" {
				t.Errorf("keys = %+v", k)
			}
		}},
		"nope": {wantErr: `label profile "nope": want one of aks, eks, gke, karpenter, quartermaster`},
		"karpenter overridden to azure and a cloud label": {
			overrides: [][2]string{{"clusterCloud", "azure"}, {"cloud", "example.com/cloud"}},
			check: func(t *testing.T, k LabelKeys) {
				if k.ClusterCloud != "azure" || k.Cloud != "example.com/cloud" || k.CloudOf(map[string]string{"example.com/cloud": "gcp"}) != "gcp" {
					t.Errorf("keys = %+v", k)
				}
			}},
		"eks with a bad key": {overrides: [][2]string{{"zone", "x"}}, wantErr: `label key "zone": want one of`},
		"quartermaster without a cloud label needs clusterCloud": {
			overrides: [][2]string{{"cloud", ""}}, wantErr: "clusterCloud must be aws, azure or gcp"},
		"gke without a capacity key": {overrides: [][2]string{{"capacityType", ""}}, wantErr: "capacityType must not be empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			profile, _, _ := strings.Cut(name, " ")
			k, err := Profile(profile)
			for _, o := range tc.overrides {
				if err == nil {
					k, err = k.Override(o[0], o[1])
				}
			}
			if err == nil {
				err = k.Validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, k)
		})
	}
}

func TestCloudOfSingleCloudProfile(t *testing.T) {
	k, _ := Profile(ProfileGKE)
	if got := k.CloudOf(map[string]string{"quartermaster.io/cloud": "aws"}); got != "gcp" {
		t.Errorf("CloudOf = %q, want gcp (the cluster's cloud)", got)
	}
}

func TestResolveLabelKeys(t *testing.T) {
	k, err := ResolveLabelKeys("karpenter", []string{"clusterCloud=azure", "region=example.com/region"})
	if err != nil || k.ClusterCloud != "azure" || k.Region != "example.com/region" || k.CapacityType != "karpenter.sh/capacity-type" {
		t.Errorf("keys = %+v, err %v", k, err)
	}
	for _, bad := range [][]string{{"region"}, {"nope=x"}, {"cloud="}} {
		if _, err := ResolveLabelKeys("quartermaster", bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := ResolveLabelKeys("openshift", nil); err == nil {
		t.Error("unknown profile accepted")
	}
}
