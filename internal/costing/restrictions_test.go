package costing

import (
	"strings"
	"testing"
)

// TestRestrictionsCheck is issue 17 item 2 for restrictions: each value is
// checked against the catalog's names, and the error names the restriction.
func TestRestrictionsCheck(t *testing.T) {
	names := NewNames(nil, nil)
	tests := map[string]struct {
		field, value, want string
	}{
		"cloud":              {FieldCloud, "aws", ""},
		"cloud upper":        {FieldCloud, "AWS", `why: cloud "AWS": want one of aws, azure, gcp; did you mean "aws"?`},
		"region":             {FieldRegion, "eastus", ""},
		"region camel":       {FieldRegion, "EastUS", `why: region "EastUS": not a region of any cloud in the region table; did you mean "eastus"?`},
		"region unknown":     {FieldRegion, "mars-1", `region "mars-1": not a region of any cloud`},
		"jurisdiction":       {FieldJurisdiction, "eu", ""},
		"jurisdiction upper": {FieldJurisdiction, "EU", `jurisdiction "EU": want one of us, ca, br, eu,`},
		"model alias":        {FieldGPUModel, "nvidia-h100-80gb", ""},
		"model unknown":      {FieldGPUModel, "H1000", `gpuModel "H1000": not a known GPU model`},
		"capacity untouched": {FieldCapacityType, "spot", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &Restrictions{}
			r.Restrict(tc.field, []string{tc.value}, "why", "")
			err := r.Check(names)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if err := (*Restrictions)(nil).Check(names); err != nil {
		t.Errorf("nil restrictions: %v", err)
	}
}
