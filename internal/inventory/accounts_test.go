package inventory

import (
	"strings"
	"testing"
)

const goodAccounts = `
accounts:
- {cloud: aws, id: "111111111111", roleArn: "arn:aws:iam::111111111111:role/quartermaster-audit", regions: [us-east-1, eu-west-1]}
- {cloud: azure, id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590, name: research}
- {cloud: gcp, id: ml-prod-1234}
- {cloud: kubernetes, id: prod-eu, kubeconfig: /etc/kube/prod.yaml}
discover:
  awsOrganization: {roleName: quartermaster-audit, exclude: ["222222222222"]}
  gcpProjects: true
limits:
  perCloud: {aws: 16, kubernetes: 2}
  perAccount: 6
`

func TestReadAccounts(t *testing.T) {
	f, err := ReadAccounts(strings.NewReader(goodAccounts))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Accounts) != 4 || f.Accounts[0].Key() != "aws/111111111111" || f.Accounts[0].Regions[1] != "eu-west-1" {
		t.Errorf("accounts %+v", f.Accounts)
	}
	if o := f.Discover.AWSOrganization; o == nil || o.RoleName != "quartermaster-audit" || !f.Discover.GCPProjects {
		t.Errorf("discover %+v", f.Discover)
	}
	if f.Limits.perCloud(CloudAWS) != 16 || f.Limits.perCloud(CloudAzure) != DefaultPerCloud || f.Limits.PerAccount != 6 {
		t.Errorf("limits %+v", f.Limits)
	}
}

func TestReadAccountsErrors(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"unquoted aws id":      {"accounts:\n- {cloud: aws, id: 011111111111}\n", `accounts[0]: id "1227133513": want a 12-digit AWS account ID (quote it in YAML)`},
		"short aws id":         {"accounts:\n- {cloud: aws, id: \"1234\"}\n", "want a 12-digit AWS account ID"},
		"bad role":             {"accounts:\n- {cloud: aws, id: \"111111111111\", roleArn: audit}\n", `roleArn "audit": want arn:aws:iam::ACCOUNT:role/NAME`},
		"azure not a uuid":     {"accounts:\n- {cloud: azure, id: research}\n", "want an Azure subscription ID"},
		"gcp uppercase":        {"accounts:\n- {cloud: gcp, id: ML-Prod}\n", "want a GCP project ID"},
		"unknown cloud":        {"accounts:\n- {cloud: oracle, id: x}\n", `cloud "oracle": want aws, azure, gcp or kubernetes`},
		"role on gcp":          {"accounts:\n- {cloud: gcp, id: ml-prod-1234, roleArn: \"arn:aws:iam::111111111111:role/x\"}\n", "roleArn and externalId are for aws accounts"},
		"kubeconfig on aws":    {"accounts:\n- {cloud: aws, id: \"111111111111\", kubeconfig: k}\n", "kubeconfig and prometheus are for kubernetes accounts"},
		"prometheus not a URL": {"accounts:\n- {cloud: kubernetes, id: prod, prometheus: prom:9090}\n", "want an http(s) URL"},
		"listed twice":         {"accounts:\n- {cloud: gcp, id: ml-prod-1234}\n- {cloud: gcp, id: ml-prod-1234}\n", "accounts[1] lists gcp/ml-prod-1234 again (accounts[0] already does)"},
		"unknown field":        {"accounts:\n- {cloud: gcp, id: ml-prod-1234, project: x}\n", `unknown field "project"`},
		"duplicate key":        {"accounts:\n- {cloud: gcp, id: ml-prod-1234, id: other-9999}\n", "already set"},
		"org without role":     {"discover:\n  awsOrganization: {}\n", "discover.awsOrganization.roleName"},
		"zero limit":           {"limits:\n  perCloud: {aws: 0}\n", "limits.perCloud.aws: 0"},
		"limit of a typo":      {"limits:\n  perCloud: {gke: 2}\n", "limits.perCloud.gke"},
		"negative":             {"limits:\n  perAccount: -1\n", "limits.perAccount: -1"},
		"kube without id":      {"accounts:\n- {cloud: kubernetes}\n", "want the kubeconfig context name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadAccounts(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func FuzzReadAccounts(f *testing.F) {
	f.Add([]byte(goodAccounts))
	f.Add([]byte("accounts: [{cloud: aws, id: '111111111111'}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadAccounts(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, acc := range a.Accounts {
			if acc.check() != nil {
				t.Fatalf("accepted an invalid account %+v", acc)
			}
		}
	})
}
