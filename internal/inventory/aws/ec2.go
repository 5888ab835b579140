package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Page sizes: the APIs' maxima, so that a large region takes the fewest
// calls (each call costs the same token of the account's request bucket
// whatever it returns).
const (
	instancesPage = 1000
	volumesPage   = 500
	snapshotsPage = 1000
)

// scanInstances emits the region's instances that exist or are on their
// way out; terminated ones linger an hour, cost nothing and hold no disks.
func (a *account) scanInstances(ctx context.Context, e *ec2.Client, region string) error {
	p := ec2.NewDescribeInstancesPaginator(e, &ec2.DescribeInstancesInput{
		MaxResults: awssdk.Int32(instancesPage),
		Filters: []ec2types.Filter{{
			Name:   awssdk.String("instance-state-name"),
			Values: []string{"pending", "running", "shutting-down", "stopping", "stopped"},
		}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return a.apiErr(region, "ec2:DescribeInstances", "", err)
		}
		for _, res := range page.Reservations {
			for _, in := range res.Instances {
				if err := a.send(a.instance(in, region)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (a *account) instance(in ec2types.Instance, region string) *inventory.Resource {
	it := string(in.InstanceType)
	inst := &inventory.Instance{
		InstanceType: it,
		State:        instanceState(in.State),
		CapacityType: string(costing.OnDemand),
	}
	// Capacity blocks and scheduled instances are reserved ahead and
	// priced as such; only spot is interruptible, which is what the
	// capacity type tells the checks.
	if in.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot {
		inst.CapacityType = string(costing.Spot)
	}
	// The catalog knows which GPUs a type has. A type it does not know is
	// reported without a model: a guess from the name (the family letter,
	// the size) would price and check a GPU that may not be there.
	if g, ok := a.gpus[it]; ok {
		inst.GPUModel, inst.GPUCount = g.model, g.count
	}
	for _, m := range in.BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.VolumeId != nil {
			inst.Disks = append(inst.Disks, *m.Ebs.VolumeId)
		}
	}
	r := &inventory.Resource{
		Kind: inventory.KindInstance, ID: awssdk.ToString(in.InstanceId),
		Region: region, Labels: tags(in.Tags), Created: awssdk.ToTime(in.LaunchTime),
		Instance: inst,
	}
	r.Name = r.Labels["Name"]
	if in.Placement != nil {
		r.Zone = awssdk.ToString(in.Placement.AvailabilityZone)
	}
	return r
}

// instanceState folds EC2's six states into the four of inventory.Instance:
// an instance stopping or shutting down is reported as where it is going,
// since that is what it will be billed as.
func instanceState(s *ec2types.InstanceState) string {
	if s == nil {
		return ""
	}
	switch s.Name {
	case ec2types.InstanceStateNameStopping:
		return "stopped"
	case ec2types.InstanceStateNameShuttingDown:
		return "terminated"
	}
	return string(s.Name)
}

func (a *account) scanVolumes(ctx context.Context, e *ec2.Client, k *kms.Client, region string) error {
	p := ec2.NewDescribeVolumesPaginator(e, &ec2.DescribeVolumesInput{MaxResults: awssdk.Int32(volumesPage)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return a.apiErr(region, "ec2:DescribeVolumes", "", err)
		}
		for _, v := range page.Volumes {
			enc, err := a.ebsEncryption(ctx, k, region, awssdk.ToBool(v.Encrypted), awssdk.ToString(v.KmsKeyId))
			if err != nil {
				return err
			}
			d := &inventory.Disk{SizeGiB: int64(awssdk.ToInt32(v.Size)), Type: string(v.VolumeType), Encryption: enc}
			// A multi-attach io2 volume can be on several instances;
			// one suffices to say it is not orphaned.
			for _, at := range v.Attachments {
				if at.State == ec2types.VolumeAttachmentStateAttached || at.State == ec2types.VolumeAttachmentStateAttaching {
					d.AttachedTo = awssdk.ToString(at.InstanceId)
					break
				}
			}
			r := &inventory.Resource{
				Kind: inventory.KindDisk, ID: awssdk.ToString(v.VolumeId), Region: region,
				Zone: awssdk.ToString(v.AvailabilityZone), Labels: tags(v.Tags),
				Created: awssdk.ToTime(v.CreateTime), Disk: d,
			}
			r.Name = r.Labels["Name"]
			if err := a.send(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanSnapshots emits the snapshots the account owns: without OwnerIds=self
// DescribeSnapshots also lists every public and shared snapshot it may
// restore, hundreds of thousands that are not the account's to audit.
func (a *account) scanSnapshots(ctx context.Context, e *ec2.Client, k *kms.Client, region string) error {
	p := ec2.NewDescribeSnapshotsPaginator(e, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"}, MaxResults: awssdk.Int32(snapshotsPage),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return a.apiErr(region, "ec2:DescribeSnapshots", "", err)
		}
		for _, s := range page.Snapshots {
			enc, err := a.ebsEncryption(ctx, k, region, awssdk.ToBool(s.Encrypted), awssdk.ToString(s.KmsKeyId))
			if err != nil {
				return err
			}
			r := &inventory.Resource{
				Kind: inventory.KindSnapshot, ID: awssdk.ToString(s.SnapshotId), Region: region,
				Labels: tags(s.Tags), Created: awssdk.ToTime(s.StartTime),
				Snapshot: &inventory.Snapshot{
					SizeGiB: int64(awssdk.ToInt32(s.VolumeSize)), SourceDisk: awssdk.ToString(s.VolumeId), Encryption: enc,
				},
			}
			r.Name = r.Labels["Name"]
			if err := a.send(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// ebsEncryption classifies an EBS volume's or snapshot's key: the account's
// AWS-managed alias/aws/ebs key is provider-managed, any other key is the
// customer's.
func (a *account) ebsEncryption(ctx context.Context, k *kms.Client, region string, encrypted bool, keyID string) (inventory.Encryption, error) {
	if !encrypted {
		return inventory.Encryption{}, nil
	}
	if keyID == "" {
		// EBS always names the key of an encrypted volume; without one
		// only AWS can hold it.
		return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}, nil
	}
	return a.keys.classify(ctx, a, k, region, keyID)
}

func tags(ts []ec2types.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}
