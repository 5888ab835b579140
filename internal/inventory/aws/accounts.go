package aws

import (
	"context"
	"fmt"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Accounts lists the active accounts of the caller's AWS Organization (the
// caller is the management account or a delegated administrator) as
// accounts to scan through org's role, leaving out org.Exclude. Suspended,
// closing and closed accounts are left out: their APIs refuse every call.
func (s *Scanner) Accounts(ctx context.Context, org inventory.AWSOrganization) ([]inventory.Account, error) {
	if org.RoleName == "" {
		return nil, fmt.Errorf("listing organization accounts: no role name to assume in them")
	}
	cl := organizations.NewFromConfig(s.base, func(o *organizations.Options) { setEndpoint(&o.BaseEndpoint, s.ep.Organizations) })
	var out []inventory.Account
	p := organizations.NewListAccountsPaginator(cl, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, &APIError{Account: "organization", Region: s.region, API: "organizations:ListAccounts", Err: err}
		}
		for _, a := range page.Accounts {
			id := awssdk.ToString(a.Id)
			if !active(a) || slices.Contains(org.Exclude, id) {
				continue
			}
			out = append(out, inventory.Account{
				Cloud: inventory.CloudAWS, ID: id, Name: awssdk.ToString(a.Name),
				RoleARN:    fmt.Sprintf("arn:%s:iam::%s:role/%s", partition(a), id, org.RoleName),
				ExternalID: org.ExternalID, Regions: slices.Clone(org.Regions),
			})
		}
	}
	return out, nil
}

// active reads State, which Organizations added in 2025 to replace Status;
// an older response has only Status.
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// partition is the account's partition (aws, aws-us-gov, aws-cn), from its
// ARN, so that the role ARN is valid in GovCloud and China too.
func partition(a orgtypes.Account) string {
	if p, err := arn.Parse(awssdk.ToString(a.Arn)); err == nil && p.Partition != "" {
		return p.Partition
	}
	return "aws"
}
