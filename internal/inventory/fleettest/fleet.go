package fleettest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	storagefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2/fake"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Fleet is a simulated fleet of accounts over the three clouds, each
// served by the fakes above on its own httptest server: AWS accounts
// (entered by AssumeRole, one region and its buckets), Azure subscriptions
// and GCP projects, in turn. Every account holds the same handful of
// resources (a GPU instance, its disk, a snapshot, a bucket or storage
// account, and on AWS a KMS key) under its own IDs, so that an inventory
// tells its accounts apart and a lost or doubled account shows.
type Fleet struct {
	AWS    *AWS
	ARM    *ARM
	Google *Google
	// ARMURL and GoogleURL are the base URLs of the ARM and Google
	// servers (AWS.URLs has AWS's).
	ARMURL, GoogleURL string
	// Accounts are the fleet's accounts, in the order the clouds take
	// turns.
	Accounts []inventory.Account
	// Throttle is shared by the three clouds: the share of the fleet's
	// calls throttled, whichever cloud they go to.
	Throttle *Throttle
}

// FleetRegion is the AWS region of every AWS account of a fleet.
const FleetRegion = "us-east-1"

// FleetAccountID is the ID of a fleet's i-th account.
func FleetAccountID(i int) inventory.Account {
	switch i % 3 {
	case 0:
		return inventory.Account{Cloud: inventory.CloudAWS, ID: fmt.Sprintf("%012d", 300000000000+i)}
	case 1:
		return inventory.Account{Cloud: inventory.CloudAzure, ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)}
	default:
		return inventory.Account{Cloud: inventory.CloudGCP, ID: fmt.Sprintf("fleet-%06d", i)}
	}
}

// NewFleet serves n accounts, one call in throttleEvery throttled (0: none);
// a throttled ARM request asks for retryAfter. The servers stop when t ends.
func NewFleet(t testing.TB, n int, throttleEvery int64, retryAfter time.Duration) *Fleet {
	f := &Fleet{
		AWS:      NewAWS(t),
		ARM:      &ARM{Subscriptions: map[string]ARMSubscription{}, RetryAfter: retryAfter},
		Google:   &Google{T: t, Pages: map[string]string{}},
		Throttle: &Throttle{Every: throttleEvery},
	}
	f.AWS.PageSize = 100
	f.AWS.Throttle, f.ARM.Throttle, f.Google.Throttle = f.Throttle, f.Throttle, f.Throttle
	created := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		a := FleetAccountID(i)
		switch a.Cloud {
		case inventory.CloudAWS:
			f.AWS.Accounts[a.ID] = awsFleetAccount(a.ID, created)
			a.RoleARN = f.AWS.RoleARN(a.ID)
			a.Regions = []string{FleetRegion}
		case inventory.CloudAzure:
			f.ARM.Subscriptions[a.ID] = armFleetSubscription(a.ID, created)
		case inventory.CloudGCP:
			googleFleetProject(f.Google.Pages, a.ID)
		}
		f.Accounts = append(f.Accounts, a)
	}
	arm, google := httptest.NewServer(f.ARM), httptest.NewServer(f.Google)
	t.Cleanup(arm.Close)
	t.Cleanup(google.Close)
	f.ARMURL, f.GoogleURL = arm.URL, google.URL
	return f
}

// CallsByAccount returns the calls each account has had so far, by
// Account.Key, throttled ones included.
func (f *Fleet) CallsByAccount() map[string]int {
	out := map[string]int{}
	for id, n := range f.AWS.CallsByAccount() {
		out[string(inventory.CloudAWS)+"/"+id] += n
	}
	for id, n := range f.ARM.CallsBySubscription() {
		out[string(inventory.CloudAzure)+"/"+id] += n
	}
	for id, n := range f.Google.CallsByProject() {
		out[string(inventory.CloudGCP)+"/"+id] += n
	}
	return out
}

func awsFleetAccount(id string, created time.Time) *AWSAccount {
	r, key := FleetRegion, KeyARN(FleetRegion, id, "cmk")
	return &AWSAccount{
		Enabled: []string{r},
		Regions: map[string]*AWSRegion{r: {
			Keys:      []AWSKey{{ID: "cmk", Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Rotation: true, Created: created}},
			Instances: []AWSInstance{{ID: "i-gpu-" + id, Type: "p5.48xlarge", State: "running", Zone: r + "a", Launch: created, Volumes: []string{"vol-" + id}, Tags: map[string]string{"team": "ml"}}},
			Volumes:   []AWSVolume{{ID: "vol-" + id, Size: 500, Type: "gp3", Encrypted: true, Key: key, AttachedTo: "i-gpu-" + id, Zone: r + "a", Created: created}},
			Snapshots: []AWSSnapshot{{ID: "snap-" + id, Volume: "vol-" + id, Size: 500, Encrypted: true, Key: key, Start: created}},
		}},
		Buckets: []AWSBucket{{Name: "datasets-" + id, Created: created, SSE: "aws:kms", KMSKey: key, Block: &[4]bool{true, true, true, true}, Versioning: "Enabled"}},
	}
}

func armFleetSubscription(sub string, created time.Time) ARMSubscription {
	id := func(typ, name string) *string {
		return to.Ptr("/subscriptions/" + sub + "/resourceGroups/ml-rg/providers/" + typ + "/" + name)
	}
	vm := id("Microsoft.Compute/virtualMachines", "train")
	disk := id("Microsoft.Compute/disks", "train-os")
	vms := computefake.VirtualMachinesServer{
		NewListAllPager: func(o *armcompute.VirtualMachinesClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListAllResponse]) {
			v := &armcompute.VirtualMachine{ID: vm, Name: to.Ptr("train")}
			if o != nil && o.StatusOnly != nil && *o.StatusOnly == "true" {
				v.Properties = &armcompute.VirtualMachineProperties{InstanceView: &armcompute.VirtualMachineInstanceView{Statuses: []*armcompute.InstanceViewStatus{
					{Code: to.Ptr("ProvisioningState/succeeded")}, {Code: to.Ptr("PowerState/running")}}}}
			} else {
				v.Location, v.Tags = to.Ptr("eastus"), map[string]*string{"team": to.Ptr("ml")}
				v.Properties = &armcompute.VirtualMachineProperties{
					HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("Standard_NC24ads_A100_v4"))},
					Priority:        to.Ptr(armcompute.VirtualMachinePriorityTypesRegular),
					TimeCreated:     to.Ptr(created),
					StorageProfile:  &armcompute.StorageProfile{OSDisk: &armcompute.OSDisk{ManagedDisk: &armcompute.ManagedDiskParameters{ID: disk}}},
				}
			}
			resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListAllResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: []*armcompute.VirtualMachine{v}}}, nil)
			return
		},
	}
	sets := computefake.VirtualMachineScaleSetsServer{
		NewListAllPager: func(*armcompute.VirtualMachineScaleSetsClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetsClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armcompute.VirtualMachineScaleSetsClientListAllResponse{}, nil)
			return
		},
	}
	disks := computefake.DisksServer{
		NewListPager: func(*armcompute.DisksClientListOptions) (resp azfake.PagerResponder[armcompute.DisksClientListResponse]) {
			resp.AddPage(http.StatusOK, armcompute.DisksClientListResponse{DiskList: armcompute.DiskList{Value: []*armcompute.Disk{{
				ID: disk, Name: to.Ptr("train-os"), Location: to.Ptr("eastus"), ManagedBy: vm,
				SKU: &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumLRS)},
				Properties: &armcompute.DiskProperties{DiskSizeGB: to.Ptr[int32](512), TimeCreated: to.Ptr(created),
					Encryption: &armcompute.Encryption{Type: to.Ptr(armcompute.EncryptionTypeEncryptionAtRestWithPlatformKey)}},
			}}}}, nil)
			return
		},
	}
	snaps := computefake.SnapshotsServer{
		NewListPager: func(*armcompute.SnapshotsClientListOptions) (resp azfake.PagerResponder[armcompute.SnapshotsClientListResponse]) {
			resp.AddPage(http.StatusOK, armcompute.SnapshotsClientListResponse{SnapshotList: armcompute.SnapshotList{Value: []*armcompute.Snapshot{{
				ID: id("Microsoft.Compute/snapshots", "train-os-nightly"), Name: to.Ptr("train-os-nightly"), Location: to.Ptr("eastus"),
				Properties: &armcompute.SnapshotProperties{DiskSizeGB: to.Ptr[int32](512), TimeCreated: to.Ptr(created),
					CreationData: &armcompute.CreationData{SourceResourceID: disk}},
			}}}}, nil)
			return
		},
	}
	accounts := storagefake.AccountsServer{
		NewListPager: func(*armstorage.AccountsClientListOptions) (resp azfake.PagerResponder[armstorage.AccountsClientListResponse]) {
			resp.AddPage(http.StatusOK, armstorage.AccountsClientListResponse{AccountListResult: armstorage.AccountListResult{Value: []*armstorage.Account{{
				ID: id("Microsoft.Storage/storageAccounts", "datasets"), Name: to.Ptr("datasets"), Location: to.Ptr("eastus"),
				Kind: to.Ptr(armstorage.KindStorageV2),
				Properties: &armstorage.AccountProperties{CreationTime: to.Ptr(created), AllowBlobPublicAccess: to.Ptr(false),
					Encryption: &armstorage.Encryption{KeySource: to.Ptr(armstorage.KeySourceMicrosoftStorage)}},
			}}}}, nil)
			return
		},
	}
	blobs := storagefake.BlobServicesServer{
		GetServiceProperties: func(context.Context, string, string, *armstorage.BlobServicesClientGetServicePropertiesOptions) (resp azfake.Responder[armstorage.BlobServicesClientGetServicePropertiesResponse], errResp azfake.ErrorResponder) {
			resp.SetResponse(http.StatusOK, armstorage.BlobServicesClientGetServicePropertiesResponse{BlobServiceProperties: armstorage.BlobServiceProperties{
				BlobServiceProperties: &armstorage.BlobServicePropertiesProperties{IsVersioningEnabled: to.Ptr(true)}}}, nil)
			return
		},
	}
	return ARMSubscription{
		Compute: computefake.NewServerFactoryTransport(&computefake.ServerFactory{
			VirtualMachinesServer: vms, VirtualMachineScaleSetsServer: sets, DisksServer: disks, SnapshotsServer: snaps,
		}),
		Storage: storagefake.NewServerFactoryTransport(&storagefake.ServerFactory{AccountsServer: accounts, BlobServicesServer: blobs}),
	}
}

// googleFleetProject adds a project's pages: one of each listing.
func googleFleetProject(pages map[string]string, project string) {
	c := "https://www.googleapis.com/compute/v1/projects/" + project
	zone := c + "/zones/us-central1-a"
	r := strings.NewReplacer("{c}", c, "{zone}", zone, "{p}", project)
	p := "/compute/v1/projects/" + project
	pages[p+"/aggregated/instances"] = r.Replace(`{"kind":"compute#instanceAggregatedList","id":"projects/{p}/aggregated/instances","items":{"zones/us-central1-a":{"instances":[
{"kind":"compute#instance","id":"1001","creationTimestamp":"2026-03-01T00:30:00.000-08:00","name":"train","machineType":"{zone}/machineTypes/a2-highgpu-1g","status":"RUNNING","zone":"{zone}",
"disks":[{"kind":"compute#attachedDisk","type":"PERSISTENT","source":"{zone}/disks/train","boot":true}],
"guestAccelerators":[{"acceleratorType":"{zone}/acceleratorTypes/nvidia-tesla-a100","acceleratorCount":1}],
"scheduling":{"onHostMaintenance":"TERMINATE","provisioningModel":"STANDARD"},"labels":{"team":"ml"},"selfLink":"{zone}/instances/train"}]}},"selfLink":"{c}/aggregated/instances"}`)
	pages[p+"/aggregated/disks"] = r.Replace(`{"kind":"compute#diskAggregatedList","id":"projects/{p}/aggregated/disks","items":{"zones/us-central1-a":{"disks":[
{"kind":"compute#disk","id":"2001","creationTimestamp":"2026-03-01T00:30:00.000-08:00","name":"train","sizeGb":"500","zone":"{zone}","status":"READY",
"type":"{zone}/diskTypes/pd-ssd","users":["{zone}/instances/train"],"selfLink":"{zone}/disks/train"}]}},"selfLink":"{c}/aggregated/disks"}`)
	pages[p+"/global/snapshots"] = r.Replace(`{"kind":"compute#snapshotList","id":"projects/{p}/global/snapshots","items":[
{"kind":"compute#snapshot","id":"3001","creationTimestamp":"2026-03-02T08:00:00.000-08:00","name":"train-nightly","status":"READY","sourceDisk":"{zone}/disks/train",
"diskSizeGb":"500","storageLocations":["us"],"selfLink":"{c}/global/snapshots/train-nightly"}],"selfLink":"{c}/global/snapshots"}`)
	pages["/storage/v1/b?project="+project] = r.Replace(`{"kind":"storage#buckets","items":[{"kind":"storage#bucket","id":"{p}-datasets","name":"{p}-datasets","projectNumber":"123456789012",
"metageneration":"1","location":"US-CENTRAL1","storageClass":"STANDARD","etag":"CAE=","timeCreated":"2026-03-01T08:00:00.000Z","updated":"2026-03-01T08:00:00.000Z",
"versioning":{"enabled":true},"iamConfiguration":{"uniformBucketLevelAccess":{"enabled":true},"publicAccessPrevention":"enforced"},"locationType":"region"}]}`)
}
