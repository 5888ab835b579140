package azure

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	subfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	storagefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2/fake"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/fleettest"
)

const (
	subA = "11111111-1111-1111-1111-111111111111"
	subB = "22222222-2222-2222-2222-222222222222"
)

var (
	observed = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	created  = time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
)

// arm is the ARM of the tests: the SDK's own fake servers, one compute and
// one storage server per subscription and a subscriptions server, behind a
// transport that routes each request by its path as ARM's front door does.
// The fake servers' error responders return errors the retry policy never
// retries (azcore marks them non-retriable), so throttling is a real 429
// response with Retry-After, answered by the router before the fake server
// sees the request.
type fakeARM struct {
	subs  map[string]*subscription
	list  *subfake.ServerFactoryTransport
	mu    sync.Mutex
	calls []string // METHOD path, in order
	// throttle answers the next n requests whose path matches with 429.
	throttle struct {
		path       *regexp.Regexp
		n          int
		retryAfter string
	}
}

type subscription struct {
	compute *computefake.ServerFactoryTransport
	storage *storagefake.ServerFactoryTransport
}

var subPath = regexp.MustCompile(`^/subscriptions/([^/]+)/`)

func (f *fakeARM) Do(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	f.mu.Lock()
	f.calls = append(f.calls, req.Method+" "+path)
	if t := &f.throttle; t.n > 0 && t.path.MatchString(path) {
		t.n--
		f.mu.Unlock()
		return &http.Response{
			StatusCode: http.StatusTooManyRequests,
			Status:     "429 Too Many Requests",
			Header:     http.Header{"Retry-After": {f.throttle.retryAfter}, "Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"error":{"code":"SubscriptionRequestsThrottled","message":"Number of read requests for subscription exceeded the limit."}}`)),
			Request:    req,
		}, nil
	}
	f.mu.Unlock()
	// The fake servers' next links are the first page's path with
	// /fake_page_N appended.
	if path == "/subscriptions" || strings.HasPrefix(path, "/subscriptions/fake_page_") {
		return f.list.Do(req)
	}
	m := subPath.FindStringSubmatch(path)
	if m == nil || f.subs[m[1]] == nil {
		return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader(`{"error":{"code":"SubscriptionNotFound"}}`)), Request: req}, nil
	}
	if strings.Contains(strings.ToLower(path), "/providers/microsoft.storage/") {
		return f.subs[m[1]].storage.Do(req)
	}
	return f.subs[m[1]].compute.Do(req)
}

func (f *fakeARM) count(re string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if regexp.MustCompile(re).MatchString(c) {
			n++
		}
	}
	return n
}

func id(sub, rg, typ, name string) *string {
	return to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + typ + "/" + name)
}

func tags(kv ...string) map[string]*string {
	m := map[string]*string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = to.Ptr(kv[i+1])
	}
	return m
}

func running(code string) *armcompute.VirtualMachineInstanceView {
	return &armcompute.VirtualMachineInstanceView{Statuses: []*armcompute.InstanceViewStatus{
		{Code: to.Ptr("ProvisioningState/succeeded")}, {Code: to.Ptr("PowerState/" + code)},
	}}
}

// subscriptionA is a GPU subscription: three VMs over two pages (one
// created after the power states were listed, and a fourth deleted since), three disks over two pages, a
// snapshot, and three storage accounts, one of them FileStorage.
func subscriptionA(sub string) *subscription {
	vms := computefake.VirtualMachinesServer{
		NewListAllPager: func(o *armcompute.VirtualMachinesClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListAllResponse]) {
			page := func(vms ...*armcompute.VirtualMachine) armcompute.VirtualMachinesClientListAllResponse {
				return armcompute.VirtualMachinesClientListAllResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: vms}}
			}
			if o != nil && deref(o.StatusOnly) == "true" {
				// As ARM answers statusOnly=true: the instance view,
				// without tags, size or disks. train, created since,
				// is missing; old, deleted since, is extra.
				status := func(name, rg, code string) *armcompute.VirtualMachine {
					return &armcompute.VirtualMachine{ID: id(sub, rg, "Microsoft.Compute/virtualMachines", name), Name: to.Ptr(name),
						Properties: &armcompute.VirtualMachineProperties{InstanceView: running(code)}}
				}
				resp.AddPage(http.StatusOK, page(status("gpu-spot", "ML-RG", "running"), status("web", "web-rg", "deallocated")), nil)
				resp.AddPage(http.StatusOK, page(status("old", "web-rg", "running")), nil)
				return
			}
			resp.AddPage(http.StatusOK, page(&armcompute.VirtualMachine{
				ID: id(sub, "ml-rg", "Microsoft.Compute/virtualMachines", "gpu-spot"), Name: to.Ptr("gpu-spot"),
				Location: to.Ptr("eastus"), Zones: []*string{to.Ptr("2")}, Tags: tags("team", "ml"),
				Properties: &armcompute.VirtualMachineProperties{
					HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("Standard_NC24ads_A100_v4"))},
					Priority:        to.Ptr(armcompute.VirtualMachinePriorityTypesSpot),
					TimeCreated:     to.Ptr(created),
					StorageProfile: &armcompute.StorageProfile{
						OSDisk:    &armcompute.OSDisk{ManagedDisk: &armcompute.ManagedDiskParameters{ID: id(sub, "ML-RG", "Microsoft.Compute/disks", "gpu-spot-os")}},
						DataDisks: []*armcompute.DataDisk{{ManagedDisk: &armcompute.ManagedDiskParameters{ID: id(sub, "ML-RG", "Microsoft.Compute/disks", "gpu-spot-data")}}},
					},
				},
			}, &armcompute.VirtualMachine{
				ID: id(sub, "web-rg", "Microsoft.Compute/virtualMachines", "web"), Name: to.Ptr("web"),
				Location: to.Ptr("westeurope"),
				Properties: &armcompute.VirtualMachineProperties{
					HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("Standard_D4s_v5"))},
					Priority:        to.Ptr(armcompute.VirtualMachinePriorityTypesRegular),
				},
			}), nil)
			resp.AddPage(http.StatusOK, page(&armcompute.VirtualMachine{
				ID: id(sub, "ml-rg", "Microsoft.Compute/virtualMachines", "train"), Name: to.Ptr("train"),
				Location: to.Ptr("eastus"),
				Properties: &armcompute.VirtualMachineProperties{
					HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("standard_nd96isr_h100_v5"))},
				},
			}, &armcompute.VirtualMachine{
				// Deleted since: its instance view is not found.
				ID: id(sub, "ml-rg", "Microsoft.Compute/virtualMachines", "gone"), Name: to.Ptr("gone"), Location: to.Ptr("eastus"),
			}), nil)
			return
		},
		InstanceView: func(ctx context.Context, rg, name string, _ *armcompute.VirtualMachinesClientInstanceViewOptions) (resp azfake.Responder[armcompute.VirtualMachinesClientInstanceViewResponse], errResp azfake.ErrorResponder) {
			if rg != "ml-rg" || name != "train" {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armcompute.VirtualMachinesClientInstanceViewResponse{VirtualMachineInstanceView: *running("starting")}, nil)
			return
		},
	}
	// An AKS GPU node pool (a Uniform scale set, its instances over two
	// pages) and a Flexible scale set, whose VMs are in the VM listing.
	sets := computefake.VirtualMachineScaleSetsServer{
		NewListAllPager: func(*armcompute.VirtualMachineScaleSetsClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetsClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armcompute.VirtualMachineScaleSetsClientListAllResponse{VirtualMachineScaleSetListWithLinkResult: armcompute.VirtualMachineScaleSetListWithLinkResult{Value: []*armcompute.VirtualMachineScaleSet{{
				ID: id(sub, "MC_ml_aks_eastus", "Microsoft.Compute/virtualMachineScaleSets", "aks-gpu-12345678-vmss"), Name: to.Ptr("aks-gpu-12345678-vmss"),
				Location: to.Ptr("eastus"), Tags: tags("aks-managed-poolName", "gpu"),
				SKU: &armcompute.SKU{Name: to.Ptr("Standard_NC24ads_A100_v4"), Capacity: to.Ptr[int64](2)},
				Properties: &armcompute.VirtualMachineScaleSetProperties{
					OrchestrationMode:     to.Ptr(armcompute.OrchestrationModeUniform),
					VirtualMachineProfile: &armcompute.VirtualMachineScaleSetVMProfile{Priority: to.Ptr(armcompute.VirtualMachinePriorityTypesSpot)},
				},
			}, {
				ID: id(sub, "web-rg", "Microsoft.Compute/virtualMachineScaleSets", "flex"), Name: to.Ptr("flex"),
				Location:   to.Ptr("westeurope"),
				Properties: &armcompute.VirtualMachineScaleSetProperties{OrchestrationMode: to.Ptr(armcompute.OrchestrationModeFlexible)},
			}}}}, nil)
			return
		},
	}
	setVMs := computefake.VirtualMachineScaleSetVMsServer{
		NewListPager: func(rg, set string, o *armcompute.VirtualMachineScaleSetVMsClientListOptions) (resp azfake.PagerResponder[armcompute.VirtualMachineScaleSetVMsClientListResponse]) {
			if set != "aks-gpu-12345678-vmss" || o == nil || deref(o.Expand) != "instanceView" {
				resp.AddResponseError(http.StatusBadRequest, "UnexpectedListing")
				return
			}
			node := func(n, zone, power string) *armcompute.VirtualMachineScaleSetVM {
				return &armcompute.VirtualMachineScaleSetVM{
					ID: to.Ptr(*id(sub, rg, "Microsoft.Compute/virtualMachineScaleSets", set) + "/virtualMachines/" + n), Name: to.Ptr(set + "_" + n),
					InstanceID: to.Ptr(n), Location: to.Ptr("eastus"), Zones: []*string{to.Ptr(zone)},
					SKU: &armcompute.SKU{Name: to.Ptr("Standard_NC24ads_A100_v4"), Tier: to.Ptr("Standard")},
					Properties: &armcompute.VirtualMachineScaleSetVMProperties{
						TimeCreated:  to.Ptr(created),
						InstanceView: &armcompute.VirtualMachineScaleSetVMInstanceView{Statuses: running(power).Statuses},
						StorageProfile: &armcompute.StorageProfile{OSDisk: &armcompute.OSDisk{ManagedDisk: &armcompute.ManagedDiskParameters{
							ID: id(sub, rg, "Microsoft.Compute/disks", set+"_"+n+"_OsDisk_1")}}},
					},
				}
			}
			page := func(vms ...*armcompute.VirtualMachineScaleSetVM) armcompute.VirtualMachineScaleSetVMsClientListResponse {
				return armcompute.VirtualMachineScaleSetVMsClientListResponse{VirtualMachineScaleSetVMListResult: armcompute.VirtualMachineScaleSetVMListResult{Value: vms}}
			}
			resp.AddPage(http.StatusOK, page(node("0", "1", "running")), nil)
			resp.AddPage(http.StatusOK, page(node("3", "2", "deallocated")), nil)
			return
		},
	}
	disks := computefake.DisksServer{
		NewListPager: func(*armcompute.DisksClientListOptions) (resp azfake.PagerResponder[armcompute.DisksClientListResponse]) {
			resp.AddPage(http.StatusOK, armcompute.DisksClientListResponse{DiskList: armcompute.DiskList{Value: []*armcompute.Disk{{
				ID: id(sub, "ml-rg", "Microsoft.Compute/disks", "gpu-spot-os"), Name: to.Ptr("gpu-spot-os"),
				Location: to.Ptr("eastus"), Zones: []*string{to.Ptr("2")},
				ManagedBy: id(sub, "ML-RG", "Microsoft.Compute/virtualMachines", "gpu-spot"),
				SKU:       &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumLRS)},
				Properties: &armcompute.DiskProperties{
					DiskSizeGB: to.Ptr[int32](128), TimeCreated: to.Ptr(created),
					Encryption: &armcompute.Encryption{Type: to.Ptr(armcompute.EncryptionTypeEncryptionAtRestWithPlatformKey)},
				},
			}}}}, nil)
			resp.AddPage(http.StatusOK, armcompute.DisksClientListResponse{DiskList: armcompute.DiskList{Value: []*armcompute.Disk{{
				ID: id(sub, "ml-rg", "Microsoft.Compute/disks", "gpu-spot-data"), Name: to.Ptr("gpu-spot-data"),
				Location:  to.Ptr("eastus"),
				ManagedBy: id(sub, "ML-RG", "Microsoft.Compute/virtualMachines", "gpu-spot"),
				SKU:       &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumV2LRS)},
				Properties: &armcompute.DiskProperties{
					DiskSizeGB: to.Ptr[int32](2048),
					Encryption: &armcompute.Encryption{
						Type:                to.Ptr(armcompute.EncryptionTypeEncryptionAtRestWithCustomerKey),
						DiskEncryptionSetID: id(sub, "Keys-RG", "Microsoft.Compute/diskEncryptionSets", "ml-des"),
					},
				},
			}, {
				ID: id(sub, "old-rg", "Microsoft.Compute/disks", "orphan"), Name: to.Ptr("orphan"),
				Location: to.Ptr("westeurope"), Tags: tags("owner", "nobody"),
				SKU: &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesStandardSSDLRS)},
				Properties: &armcompute.DiskProperties{
					DiskSizeGB: to.Ptr[int32](512),
					Encryption: &armcompute.Encryption{
						Type:                to.Ptr(armcompute.EncryptionTypeEncryptionAtRestWithPlatformAndCustomerKeys),
						DiskEncryptionSetID: id(sub, "keys-rg", "Microsoft.Compute/diskEncryptionSets", "double"),
					},
				},
			}}}}, nil)
			return
		},
	}
	snaps := computefake.SnapshotsServer{
		NewListPager: func(*armcompute.SnapshotsClientListOptions) (resp azfake.PagerResponder[armcompute.SnapshotsClientListResponse]) {
			resp.AddPage(http.StatusOK, armcompute.SnapshotsClientListResponse{SnapshotList: armcompute.SnapshotList{Value: []*armcompute.Snapshot{{
				ID: id(sub, "ml-rg", "Microsoft.Compute/snapshots", "data-nightly"), Name: to.Ptr("data-nightly"),
				Location: to.Ptr("eastus"),
				Properties: &armcompute.SnapshotProperties{
					DiskSizeGB: to.Ptr[int32](2048), TimeCreated: to.Ptr(created),
					CreationData: &armcompute.CreationData{SourceResourceID: id(sub, "ML-RG", "Microsoft.Compute/disks", "gpu-spot-data")},
				},
			}}}}, nil)
			return
		},
	}
	accounts := storagefake.AccountsServer{
		NewListPager: func(*armstorage.AccountsClientListOptions) (resp azfake.PagerResponder[armstorage.AccountsClientListResponse]) {
			resp.AddPage(http.StatusOK, armstorage.AccountsClientListResponse{AccountListResult: armstorage.AccountListResult{Value: []*armstorage.Account{{
				ID: id(sub, "ml-rg", "Microsoft.Storage/storageAccounts", "mldatasets"), Name: to.Ptr("mldatasets"),
				Location: to.Ptr("eastus"), Kind: to.Ptr(armstorage.KindStorageV2), Tags: tags("data", "training"),
				Properties: &armstorage.AccountProperties{
					CreationTime:          to.Ptr(created),
					AllowBlobPublicAccess: to.Ptr(false),
					Encryption: &armstorage.Encryption{
						KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault),
						KeyVaultProperties: &armstorage.KeyVaultProperties{
							KeyVaultURI: to.Ptr("https://ml-keys.vault.azure.net/"), KeyName: to.Ptr("datasets"),
						},
					},
				},
			}, {
				ID: id(sub, "web-rg", "Microsoft.Storage/storageAccounts", "legacyweb"), Name: to.Ptr("legacyweb"),
				Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorage),
				Properties: &armstorage.AccountProperties{
					Encryption: &armstorage.Encryption{KeySource: to.Ptr(armstorage.KeySourceMicrosoftStorage)},
				},
			}}}}, nil)
			resp.AddPage(http.StatusOK, armstorage.AccountsClientListResponse{AccountListResult: armstorage.AccountListResult{Value: []*armstorage.Account{{
				// Deleted since: its blob service is not found.
				ID: id(sub, "ml-rg", "Microsoft.Storage/storageAccounts", "gonestore"), Name: to.Ptr("gonestore"),
				Location: to.Ptr("eastus"), Kind: to.Ptr(armstorage.KindStorageV2),
			}, {
				ID: id(sub, "ml-rg", "Microsoft.Storage/storageAccounts", "mlshares"), Name: to.Ptr("mlshares"),
				Location: to.Ptr("eastus"), Kind: to.Ptr(armstorage.KindFileStorage),
				Properties: &armstorage.AccountProperties{
					AllowBlobPublicAccess: to.Ptr(true),
					Encryption: &armstorage.Encryption{
						KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault),
						KeyVaultProperties: &armstorage.KeyVaultProperties{
							KeyVaultURI: to.Ptr("https://ml-keys.vault.azure.net"), KeyName: to.Ptr("shares"), KeyVersion: to.Ptr("0f3c"),
						},
					},
				},
			}}}}, nil)
			return
		},
	}
	blobs := storagefake.BlobServicesServer{
		GetServiceProperties: func(ctx context.Context, rg, account string, _ *armstorage.BlobServicesClientGetServicePropertiesOptions) (resp azfake.Responder[armstorage.BlobServicesClientGetServicePropertiesResponse], errResp azfake.ErrorResponder) {
			var p armstorage.BlobServicePropertiesProperties
			switch account {
			case "mldatasets":
				p.IsVersioningEnabled = to.Ptr(true)
				p.DeleteRetentionPolicy = &armstorage.DeleteRetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](14)}
			case "legacyweb":
				p.DeleteRetentionPolicy = &armstorage.DeleteRetentionPolicy{Enabled: to.Ptr(false)}
			case "gonestore":
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			default: // FileStorage has no blob service
				errResp.SetResponseError(http.StatusBadRequest, "FeatureNotSupportedForAccount")
				return
			}
			resp.SetResponse(http.StatusOK, armstorage.BlobServicesClientGetServicePropertiesResponse{
				BlobServiceProperties: armstorage.BlobServiceProperties{BlobServiceProperties: &p},
			}, nil)
			return
		},
	}
	return &subscription{
		compute: computefake.NewServerFactoryTransport(&computefake.ServerFactory{
			VirtualMachinesServer: vms, VirtualMachineScaleSetsServer: sets, VirtualMachineScaleSetVMsServer: setVMs,
			DisksServer: disks, SnapshotsServer: snaps,
		}),
		storage: storagefake.NewServerFactoryTransport(&storagefake.ServerFactory{AccountsServer: accounts, BlobServicesServer: blobs}),
	}
}

// wantA is what subscription A holds, in the order of the scan.
func wantA(sub string) []*inventory.Resource {
	p := func(rg, typ, name string) string {
		return "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/" + typ + "/" + name
	}
	base := func(kind inventory.Kind, rg, typ, name, region string) inventory.Resource {
		return inventory.Resource{Kind: kind, ID: p(rg, typ, name), Name: name, Account: sub, Cloud: inventory.CloudAzure, Region: region, Observed: observed}
	}
	res := func(r inventory.Resource, set func(*inventory.Resource)) *inventory.Resource { set(&r); return &r }
	pm := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	return []*inventory.Resource{
		res(base(inventory.KindInstance, "ml-rg", "microsoft.compute/virtualmachines", "gpu-spot", "eastus"), func(r *inventory.Resource) {
			r.Zone, r.Labels, r.Created = "eastus-2", map[string]string{"team": "ml"}, created
			r.Instance = &inventory.Instance{InstanceType: "Standard_NC24ads_A100_v4", State: "running", CapacityType: "spot",
				GPUModel: "A100-80GB", GPUCount: 1,
				Disks: []string{p("ml-rg", "microsoft.compute/disks", "gpu-spot-os"), p("ml-rg", "microsoft.compute/disks", "gpu-spot-data")}}
		}),
		res(base(inventory.KindInstance, "web-rg", "microsoft.compute/virtualmachines", "web", "westeurope"), func(r *inventory.Resource) {
			r.Instance = &inventory.Instance{InstanceType: "Standard_D4s_v5", State: "stopped", CapacityType: "on-demand"}
		}),
		res(base(inventory.KindInstance, "ml-rg", "microsoft.compute/virtualmachines", "train", "eastus"), func(r *inventory.Resource) {
			r.Instance = &inventory.Instance{InstanceType: "standard_nd96isr_h100_v5", State: "pending", CapacityType: "on-demand",
				GPUModel: "H100", GPUCount: 8}
		}),
		res(base(inventory.KindInstance, "mc_ml_aks_eastus", "microsoft.compute/virtualmachinescalesets", "aks-gpu-12345678-vmss/virtualmachines/0", "eastus"), func(r *inventory.Resource) {
			r.Name, r.Zone, r.Created = "aks-gpu-12345678-vmss_0", "eastus-1", created
			r.Labels = map[string]string{"aks-managed-poolName": "gpu"}
			r.Instance = &inventory.Instance{InstanceType: "Standard_NC24ads_A100_v4", State: "running", CapacityType: "spot", GPUModel: "A100-80GB", GPUCount: 1,
				Disks: []string{p("mc_ml_aks_eastus", "microsoft.compute/disks", "aks-gpu-12345678-vmss_0_osdisk_1")}}
		}),
		res(base(inventory.KindInstance, "mc_ml_aks_eastus", "microsoft.compute/virtualmachinescalesets", "aks-gpu-12345678-vmss/virtualmachines/3", "eastus"), func(r *inventory.Resource) {
			r.Name, r.Zone, r.Created = "aks-gpu-12345678-vmss_3", "eastus-2", created
			r.Labels = map[string]string{"aks-managed-poolName": "gpu"}
			r.Instance = &inventory.Instance{InstanceType: "Standard_NC24ads_A100_v4", State: "stopped", CapacityType: "spot", GPUModel: "A100-80GB", GPUCount: 1,
				Disks: []string{p("mc_ml_aks_eastus", "microsoft.compute/disks", "aks-gpu-12345678-vmss_3_osdisk_1")}}
		}),
		res(base(inventory.KindDisk, "ml-rg", "microsoft.compute/disks", "gpu-spot-os", "eastus"), func(r *inventory.Resource) {
			r.Zone, r.Created = "eastus-2", created
			r.Disk = &inventory.Disk{SizeGiB: 128, Type: "Premium_LRS", Encryption: pm,
				AttachedTo: p("ml-rg", "microsoft.compute/virtualmachines", "gpu-spot")}
		}),
		res(base(inventory.KindDisk, "ml-rg", "microsoft.compute/disks", "gpu-spot-data", "eastus"), func(r *inventory.Resource) {
			r.Disk = &inventory.Disk{SizeGiB: 2048, Type: "PremiumV2_LRS",
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: p("keys-rg", "microsoft.compute/diskencryptionsets", "ml-des")},
				AttachedTo: p("ml-rg", "microsoft.compute/virtualmachines", "gpu-spot")}
		}),
		res(base(inventory.KindDisk, "old-rg", "microsoft.compute/disks", "orphan", "westeurope"), func(r *inventory.Resource) {
			r.Labels = map[string]string{"owner": "nobody"}
			r.Disk = &inventory.Disk{SizeGiB: 512, Type: "StandardSSD_LRS",
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: p("keys-rg", "microsoft.compute/diskencryptionsets", "double")}}
		}),
		res(base(inventory.KindSnapshot, "ml-rg", "microsoft.compute/snapshots", "data-nightly", "eastus"), func(r *inventory.Resource) {
			r.Created = created
			r.Snapshot = &inventory.Snapshot{SizeGiB: 2048, Encryption: pm, SourceDisk: p("ml-rg", "microsoft.compute/disks", "gpu-spot-data")}
		}),
		res(base(inventory.KindBucket, "ml-rg", "microsoft.storage/storageaccounts", "mldatasets", "eastus"), func(r *inventory.Resource) {
			r.Labels, r.Created = map[string]string{"data": "training"}, created
			r.Bucket = &inventory.Bucket{Location: "eastus", PublicAccessBlocked: true, Versioning: true, SoftDelete: true,
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: "https://ml-keys.vault.azure.net/keys/datasets"}}
		}),
		res(base(inventory.KindBucket, "web-rg", "microsoft.storage/storageaccounts", "legacyweb", "westeurope"), func(r *inventory.Resource) {
			r.Bucket = &inventory.Bucket{Location: "westeurope", Encryption: pm}
		}),
		res(base(inventory.KindBucket, "ml-rg", "microsoft.storage/storageaccounts", "mlshares", "eastus"), func(r *inventory.Resource) {
			r.Bucket = &inventory.Bucket{Location: "eastus",
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: "https://ml-keys.vault.azure.net/keys/shares/0f3c"}}
		}),
	}
}

// newSource builds a source over f, with retries fast enough for tests but
// Retry-After still honoured as sent.
func newSource(t *testing.T, f *fakeARM, retry policy.RetryOptions) *Source {
	t.Helper()
	s, err := New(Config{
		Credential:    &azfake.TokenCredential{},
		ClientOptions: arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: f}},
		Retry:         retry,
		Now:           func() time.Time { return observed },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scan(t *testing.T, s *Source, a inventory.Account) ([]*inventory.Resource, error) {
	t.Helper()
	var got []*inventory.Resource
	err := s.Scan(context.Background(), a, func(r *inventory.Resource) error {
		if err := r.Validate(); err != nil {
			t.Errorf("invalid resource: %v", err)
		}
		got = append(got, r)
		return nil
	})
	return got, err
}

func TestScan(t *testing.T) {
	all := wantA(subA)
	for name, tc := range map[string]struct {
		regions []string
		want    []*inventory.Resource
	}{
		"every location": {want: all},
		"westeurope only": {regions: []string{"WestEurope"}, want: slices.DeleteFunc(slices.Clone(all), func(r *inventory.Resource) bool {
			return r.Region != "westeurope"
		})},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeARM{subs: map[string]*subscription{subA: subscriptionA(subA)}}
			got, err := scan(t, newSource(t, f, policy.RetryOptions{}), inventory.Account{Cloud: inventory.CloudAzure, ID: subA, Regions: tc.regions})
			if err != nil {
				t.Fatal(err)
			}
			fleettest.SameResources(t, got, tc.want)
			// Pages: two of power states and two of VMs; one of scale
			// sets and two of the Uniform one's instances (none of the
			// Flexible one's); two of disks, one of snapshots, two of
			// accounts; two instance views (of the VMs the power
			// states missed); the blob properties of the three accounts
			// that are not FileStorage (one deleted since).
			for re, n := range map[string]int{
				`/providers/Microsoft.Compute/virtualMachines(/fake_page_\d+)?$`:         4,
				`/virtualMachines/(train|gone)/instanceView$`:                            2,
				`/providers/Microsoft.Compute/virtualMachineScaleSets(/fake_page_\d+)?$`: 1,
				`/aks-gpu-12345678-vmss/virtualMachines(/fake_page_\d+)?$`:               2,
				`/flex/virtualMachines`:                                          0,
				`/providers/Microsoft.Compute/disks(/fake_page_\d+)?$`:           2,
				`/providers/Microsoft.Compute/snapshots(/fake_page_\d+)?$`:       1,
				`/providers/Microsoft.Storage/storageAccounts(/fake_page_\d+)?$`: 2,
				`/storageAccounts/[^/]+/blobServices/default$`:                   3,
				`/storageAccounts/mlshares/blobServices/default$`:                0,
				`^GET /subscriptions/` + subA + `/providers/Micro`:               10,
				`^(PUT|POST|PATCH|DELETE) `:                                      0,
			} {
				if got := f.count(re); got != n {
					t.Errorf("%d requests match %s, want %d", got, re, n)
				}
			}
		})
	}
}

func TestScanThrottled(t *testing.T) {
	for name, tc := range map[string]struct {
		throttles  int
		retryAfter string
		retry      policy.RetryOptions
		wantErr    string
		wantTries  int
		minElapsed time.Duration
	}{
		// One 429 with Retry-After: 1: waited for, retried, and the
		// scan completes with every resource.
		"429 once, Retry-After honoured": {throttles: 1, retryAfter: "1", wantTries: 2, minElapsed: time.Second},
		// Throttled on every try: the retries are bounded, and the
		// subscription fails naming the resource type and the 429.
		"429 on every try": {throttles: 100, retryAfter: "0", retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond},
			wantErr: "scanning subscription " + subA + ": listing managed disks: ", wantTries: 3},
		// A Retry-After beyond MaxRetryDelay is not waited for.
		"Retry-After beyond the cap": {throttles: 1, retryAfter: "3600", wantErr: "SubscriptionRequestsThrottled", wantTries: 1},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeARM{subs: map[string]*subscription{subA: subscriptionA(subA)}}
			f.throttle.path = regexp.MustCompile(`/providers/Microsoft\.Compute/disks$`)
			f.throttle.n, f.throttle.retryAfter = tc.throttles, tc.retryAfter
			start := time.Now()
			got, err := scan(t, newSource(t, f, tc.retry), inventory.Account{Cloud: inventory.CloudAzure, ID: subA})
			elapsed := time.Since(start)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr == "":
				fleettest.SameResources(t, got, wantA(subA))
			case err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "429"):
				t.Fatalf("error %v: want one with %q and the 429", err, tc.wantErr)
			}
			// The first page of disks: tried wantTries times.
			if n := f.count(`/providers/Microsoft\.Compute/disks$`); n < tc.wantTries || (tc.wantErr != "" && n != tc.wantTries) {
				t.Errorf("%d disk listings, want %d tries of the first page", n, tc.wantTries)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("took %v: Retry-After %ss was not waited for", elapsed, tc.retryAfter)
			}
			t.Logf("elapsed %v", elapsed)
		})
	}
}

func TestScanPersistentError(t *testing.T) {
	for name, tc := range map[string]struct {
		break_  func(*subscription)
		wantErr []string
	}{
		"storage accounts forbidden": {
			break_: func(s *subscription) {
				*s = *subscriptionA(subA)
				s.storage = storagefake.NewServerFactoryTransport(&storagefake.ServerFactory{AccountsServer: storagefake.AccountsServer{
					NewListPager: func(*armstorage.AccountsClientListOptions) (resp azfake.PagerResponder[armstorage.AccountsClientListResponse]) {
						resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
						return
					},
				}})
			},
			wantErr: []string{"scanning subscription " + subA, "listing storage accounts", "AuthorizationFailed", "403"},
		},
		"second page of VMs fails": {
			break_: func(s *subscription) {
				*s = *subscriptionA(subA)
				s.compute = computefake.NewServerFactoryTransport(&computefake.ServerFactory{VirtualMachinesServer: computefake.VirtualMachinesServer{
					NewListAllPager: func(o *armcompute.VirtualMachinesClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListAllResponse]) {
						resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListAllResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{
							Value: []*armcompute.VirtualMachine{{ID: id(subA, "rg", "Microsoft.Compute/virtualMachines", "a"), Properties: &armcompute.VirtualMachineProperties{InstanceView: running("running")}}},
						}}, nil)
						if o == nil { // the full listing, after the power states
							resp.AddResponseError(http.StatusInternalServerError, "InternalServerError")
						}
						return
					},
				}})
			},
			wantErr: []string{"scanning subscription " + subA + ": listing virtual machines: ", "InternalServerError", "500"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := &subscription{}
			tc.break_(s)
			f := &fakeARM{subs: map[string]*subscription{subA: s}}
			_, err := scan(t, newSource(t, f, policy.RetryOptions{}), inventory.Account{Cloud: inventory.CloudAzure, ID: subA})
			if err == nil {
				t.Fatal("scan succeeded")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestRunner drives the source through the inventory runner over two
// subscriptions, one of which cannot list its storage accounts: the good
// one is delivered whole, the bad one is a failed account with its error,
// and nothing of it reaches the sink.
func TestRunner(t *testing.T) {
	bad := subscriptionA(subB)
	bad.storage = storagefake.NewServerFactoryTransport(&storagefake.ServerFactory{AccountsServer: storagefake.AccountsServer{
		NewListPager: func(*armstorage.AccountsClientListOptions) (resp azfake.PagerResponder[armstorage.AccountsClientListResponse]) {
			resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
			return
		},
	}})
	f := &fakeARM{subs: map[string]*subscription{subA: subscriptionA(subA), subB: bad}}
	r := &inventory.Runner{Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudAzure: newSource(t, f, policy.RetryOptions{})}}
	var got []*inventory.Resource
	sum, err := r.Run(context.Background(), []inventory.Account{{Cloud: inventory.CloudAzure, ID: subA}, {Cloud: inventory.CloudAzure, ID: subB}},
		func(res *inventory.Resource) error { got = append(got, res); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Accounts[0].Status != inventory.StatusScanned || sum.Accounts[1].Status != inventory.StatusFailed {
		t.Fatalf("summary %+v: want %s scanned and %s failed", sum, subA, subB)
	}
	if e := sum.Accounts[1].Error; !strings.Contains(e, subB) || !strings.Contains(e, "storage accounts") || !strings.Contains(e, "AuthorizationFailed") {
		t.Errorf("failed account's error %q: want the subscription, the resource type and the error", e)
	}
	want := wantA(subA)
	for _, w := range want {
		w.Observed = w.Observed.UTC() // as the spool round-trips it
	}
	fleettest.SameResources(t, got, want)
}

func TestDiscover(t *testing.T) {
	page := func(subs ...*armsubscriptions.Subscription) armsubscriptions.ClientListResponse {
		return armsubscriptions.ClientListResponse{SubscriptionListResult: armsubscriptions.SubscriptionListResult{Value: subs}}
	}
	sub := func(id, name string, st armsubscriptions.SubscriptionState) *armsubscriptions.Subscription {
		return &armsubscriptions.Subscription{SubscriptionID: to.Ptr(id), DisplayName: to.Ptr(name), State: to.Ptr(st)}
	}
	f := &fakeARM{list: subfake.NewServerFactoryTransport(&subfake.ServerFactory{Server: subfake.Server{
		NewListPager: func(*armsubscriptions.ClientListOptions) (resp azfake.PagerResponder[armsubscriptions.ClientListResponse]) {
			resp.AddPage(http.StatusOK, page(sub(subA, "ml-prod", armsubscriptions.SubscriptionStateEnabled),
				sub("33333333-3333-3333-3333-333333333333", "closed", armsubscriptions.SubscriptionStateDisabled)), nil)
			resp.AddPage(http.StatusOK, page(sub(strings.ToUpper(subB), "ml-dev", armsubscriptions.SubscriptionStatePastDue),
				sub("44444444-4444-4444-4444-444444444444", "gone", armsubscriptions.SubscriptionStateDeleted)), nil)
			return
		},
	}})}
	got, err := newSource(t, f, policy.RetryOptions{}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Account{{Cloud: inventory.CloudAzure, ID: subA, Name: "ml-prod"}, {Cloud: inventory.CloudAzure, ID: subB, Name: "ml-dev"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discovered %+v, want %+v", got, want)
	}
	if n := f.count(`^GET /subscriptions(/fake_page_\d+)?$`); n != 2 {
		t.Errorf("%d subscription list requests, want 2 pages", n)
	}
}

func TestNewNeedsCredential(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Errorf("New without a credential: %v", err)
	}
}

// TestRetryDefaults: the documented retry figures are the ones the clients
// get, and a field given keeps its value.
func TestRetryDefaults(t *testing.T) {
	s, err := New(Config{Credential: &azfake.TokenCredential{}, Retry: policy.RetryOptions{MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.opts.Retry
	if got.MaxRetries != 1 || got.RetryDelay != DefaultRetry.RetryDelay || got.MaxRetryDelay != DefaultRetry.MaxRetryDelay || got.TryTimeout != DefaultRetry.TryTimeout {
		t.Errorf("retry options %+v: want MaxRetries 1 and the rest of %+v", got, DefaultRetry)
	}
	if DefaultRetry.MaxRetries != 5 || DefaultRetry.RetryDelay != 2*time.Second || DefaultRetry.MaxRetryDelay != time.Minute || DefaultRetry.TryTimeout != 90*time.Second {
		t.Errorf("DefaultRetry %+v differs from docs/inventory-azure-gcp.md", DefaultRetry)
	}
}

// BenchmarkScanVMs scans a subscription of 10,000 VMs over 10 pages of
// 1,000 (and as many of power states) from the SDK's fake server: the cost
// of the SDK's decoding and the conversion, without the network.
func BenchmarkScanVMs(b *testing.B) {
	const pages, perPage = 10, 1000
	vm := func(p, i int, status bool) *armcompute.VirtualMachine {
		name := fmt.Sprintf("vm-%d-%d", p, i)
		if status {
			return &armcompute.VirtualMachine{ID: id(subA, "ml-rg", "Microsoft.Compute/virtualMachines", name), Name: to.Ptr(name),
				Properties: &armcompute.VirtualMachineProperties{InstanceView: running("running")}}
		}
		return &armcompute.VirtualMachine{
			ID: id(subA, "ml-rg", "Microsoft.Compute/virtualMachines", name), Name: to.Ptr(name),
			Location: to.Ptr("eastus"), Zones: []*string{to.Ptr("1")}, Tags: tags("team", "ml", "env", "prod"),
			Properties: &armcompute.VirtualMachineProperties{
				HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("Standard_NC24ads_A100_v4"))},
				Priority:        to.Ptr(armcompute.VirtualMachinePriorityTypesSpot),
				TimeCreated:     to.Ptr(created),
				StorageProfile: &armcompute.StorageProfile{
					OSDisk: &armcompute.OSDisk{ManagedDisk: &armcompute.ManagedDiskParameters{ID: id(subA, "ml-rg", "Microsoft.Compute/disks", name+"-os")}},
				},
			},
		}
	}
	srv := computefake.VirtualMachinesServer{
		NewListAllPager: func(o *armcompute.VirtualMachinesClientListAllOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListAllResponse]) {
			status := o != nil && deref(o.StatusOnly) == "true"
			for p := range pages {
				vms := make([]*armcompute.VirtualMachine, perPage)
				for i := range vms {
					vms[i] = vm(p, i, status)
				}
				resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListAllResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: vms}}, nil)
			}
			return
		},
	}
	f := &fakeARM{subs: map[string]*subscription{subA: {compute: computefake.NewServerFactoryTransport(&computefake.ServerFactory{VirtualMachinesServer: srv})}}}
	s, err := New(Config{
		Credential:    &azfake.TokenCredential{},
		ClientOptions: arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: f}},
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.clients(subA)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := s.scanVMs(context.Background(), c, func(r *inventory.Resource) error {
			if r.Instance.State != "running" {
				b.Fatalf("%s: state %q", r.ID, r.Instance.State)
			}
			n++
			return nil
		})
		if err != nil || n != pages*perPage {
			b.Fatalf("%d VMs, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*pages*perPage), "µs/vm")
}
