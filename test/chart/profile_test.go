//go:build e2e

package chart

import (
	"slices"
	"strings"
	"testing"
)

// webhookArgs are the webhook container's arguments.
func webhookArgs(t *testing.T, r rendered) []string {
	t.Helper()
	var args []string
	for _, a := range at(r.get(t, deployment), "spec", "template", "spec", "containers", "0", "args").([]any) {
		args = append(args, a.(string))
	}
	return args
}

// nodePoolRule reports whether the webhook's ClusterRole reads Karpenter
// NodePools.
func nodePoolRule(t *testing.T, r rendered) bool {
	t.Helper()
	for _, rule := range at(r.get(t, "ClusterRole/qm-quartermaster-webhook"), "rules").([]any) {
		if slices.Equal(at(rule, "apiGroups").([]any), []any{"karpenter.sh"}) {
			if !slices.Equal(at(rule, "resources").([]any), []any{"nodepools"}) || !slices.Equal(at(rule, "verbs").([]any), []any{"get", "list", "watch"}) {
				t.Errorf("karpenter.sh rule %v: want get, list and watch on nodepools only", rule)
			}
			return true
		}
	}
	return false
}

// TestLabelProfileValues: labelProfile, labelKeys and provisionableFilter
// reach the webhook as its flags, and the filter's RBAC follows it.
func TestLabelProfileValues(t *testing.T) {
	tests := map[string]struct {
		args     []string
		want     []string
		wantNone []string
		nodePool bool
	}{
		"defaults": {
			want:     []string{"--label-profile=quartermaster", "--provisionable-filter=auto"},
			wantNone: []string{"--label-key="},
			nodePool: true,
		},
		"karpenter on azure with a key override": {
			args:     []string{"--set", "labelProfile=karpenter", "--set", "labelKeys.clusterCloud=azure", "--set", "labelKeys.region=example.com/region"},
			want:     []string{"--label-profile=karpenter", "--label-key=clusterCloud=azure", "--label-key=region=example.com/region"},
			nodePool: true,
		},
		"gke spot value that looks like a boolean": {
			args:     []string{"--set", "labelProfile=gke", "--set-string", "labelKeys.spotValue=true"},
			want:     []string{"--label-profile=gke", "--label-key=spotValue=true"},
			nodePool: true,
		},
		"filter off drops the NodePool rule": {
			args:     []string{"--set", "provisionableFilter=off"},
			want:     []string{"--provisionable-filter=off"},
			nodePool: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.args...)
			args := webhookArgs(t, r)
			for _, w := range tc.want {
				if !slices.Contains(args, w) {
					t.Errorf("args %v lack %s", args, w)
				}
			}
			for _, w := range tc.wantNone {
				if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, w) }) {
					t.Errorf("args %v have %s", args, w)
				}
			}
			if got := nodePoolRule(t, r); got != tc.nodePool {
				t.Errorf("NodePool RBAC = %v, want %v", got, tc.nodePool)
			}
		})
	}
}

func TestLabelProfileRejected(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown profile":       {[]string{"--set", "labelProfile=openshift"}, "labelProfile"},
		"unknown key":           {[]string{"--set", "labelKeys.zone=x"}, "zone"},
		"unknown cluster cloud": {[]string{"--set", "labelKeys.clusterCloud=ibm"}, "clusterCloud"},
		"unknown filter mode":   {[]string{"--set", "provisionableFilter=sometimes"}, "provisionableFilter"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
