package aws

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// TestAccounts lists an organisation over three pages of Organizations'
// JSON 1.1 API: active accounts only (by State, or by the older Status
// when State is absent), exclusions honoured, the role ARN in the account's
// partition.
func TestAccounts(t *testing.T) {
	f := newFakeAWS(t)
	f.Org = []fakeOrgAccount{
		{ID: "100000000001", Name: "prod", State: "ACTIVE", Status: "ACTIVE"},
		{ID: "100000000002", Name: "closed", State: "SUSPENDED", Status: "SUSPENDED"},
		{ID: "100000000003", Name: "leaving", State: "PENDING_CLOSURE", Status: "ACTIVE"},
		{ID: "100000000004", Name: "old-style", Status: "ACTIVE"},
		{ID: "100000000005", Name: "sandbox", State: "ACTIVE", Status: "ACTIVE"},
		{ID: "100000000006", Name: "gov", State: "ACTIVE", Status: "ACTIVE", Partition: "aws-us-gov"},
	}
	s := newTestScanner(t, testConfig(f))
	got, err := s.Accounts(context.Background(), inventory.AWSOrganization{
		RoleName: "QuartermasterAudit", ExternalID: "ext-42", Regions: []string{"eu-west-1"},
		Exclude: []string{"100000000005"},
	})
	if err != nil {
		t.Fatal(err)
	}
	acct := func(id, name, partition string) inventory.Account {
		return inventory.Account{Cloud: inventory.CloudAWS, ID: id, Name: name,
			RoleARN: "arn:" + partition + ":iam::" + id + ":role/QuartermasterAudit", ExternalID: "ext-42", Regions: []string{"eu-west-1"}}
	}
	want := []inventory.Account{
		acct("100000000001", "prod", "aws"),
		acct("100000000004", "old-style", "aws"),
		acct("100000000006", "gov", "aws-us-gov"),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	if n := f.CallsOf("organizations:ListAccounts", callerAccount, "us-east-1"); n != 3 {
		t.Errorf("ListAccounts: %d calls, want 3 pages", n)
	}
}

func TestAccountsErrors(t *testing.T) {
	tests := map[string]struct {
		org  inventory.AWSOrganization
		ft   *fault
		want string
	}{
		"no role": {want: "listing organization accounts: no role name to assume in them"},
		"not the management account": {org: inventory.AWSOrganization{RoleName: "R"},
			ft:   &fault{N: -1, Status: 400, Code: "AWSOrganizationsNotInUseException", Message: "Your account is not a member of an organization."},
			want: "organizations:ListAccounts in organization/us-east-1: AWSOrganizationsNotInUseException: Your account is not a member of an organization."},
		"throttled past the bound": {org: inventory.AWSOrganization{RoleName: "R"},
			ft:   &fault{N: -1, Status: 400, Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress."},
			want: "organizations:ListAccounts in organization/us-east-1: TooManyRequestsException: AWS Organizations can't complete your request because another request is already in progress. (gave up after 5 attempts)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS(t)
			if tc.ft != nil {
				f.Fail("organizations:ListAccounts", callerAccount, "us-east-1", *tc.ft)
			}
			_, err := newTestScanner(t, testConfig(f)).Accounts(context.Background(), tc.org)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Accounts: %v\nwant %s", err, tc.want)
			}
		})
	}
}
