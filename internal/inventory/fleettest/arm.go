package fleettest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// ARM is Azure Resource Manager over HTTP: it routes each request by its
// subscription, as ARM's front door does, to that subscription's Azure SDK
// fake servers (armcompute/fake, armstorage/fake ServerFactoryTransport),
// which answer in ARM's own JSON, pages and next links included. Those
// transports dispatch on the operation name the SDK client puts in the
// request's context in-process; over HTTP, ARM knows the operation from the
// method and path, and so does this router (armOperations).
type ARM struct {
	// Subscriptions are the subscriptions served; set before the first
	// request.
	Subscriptions map[string]ARMSubscription
	// Throttle, when set, picks requests to answer with 429
	// SubscriptionRequestsThrottled, before the fake servers see them.
	Throttle *Throttle
	// RetryAfter is what a throttled answer asks the client to wait:
	// Retry-After in whole seconds (at least 1, as ARM sends it) and
	// x-ms-retry-after-ms in milliseconds, which azcore prefers, so that a
	// benchmark can throttle thousands of requests without waiting a
	// second for each.
	RetryAfter time.Duration

	mu    sync.Mutex
	bySub map[string]int
}

// ARMSubscription is one subscription's fake servers.
type ARMSubscription struct {
	Compute, Storage policy.Transporter
}

var (
	armSubscription = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/`)
	armFakePage     = regexp.MustCompile(`/fake_page_\d+$`)
	// armOperations are the operations the inventory adapter calls, by
	// path (without the fake servers' page suffix).
	armOperations = []struct {
		path *regexp.Regexp
		name string
	}{
		{regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Compute/virtualMachines$`), "VirtualMachinesClient.NewListAllPager"},
		{regexp.MustCompile(`(?i)/providers/Microsoft\.Compute/virtualMachines/[^/]+/instanceView$`), "VirtualMachinesClient.InstanceView"},
		{regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Compute/virtualMachineScaleSets$`), "VirtualMachineScaleSetsClient.NewListAllPager"},
		{regexp.MustCompile(`(?i)/providers/Microsoft\.Compute/virtualMachineScaleSets/[^/]+/virtualMachines$`), "VirtualMachineScaleSetVMsClient.NewListPager"},
		{regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Compute/disks$`), "DisksClient.NewListPager"},
		{regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Compute/snapshots$`), "SnapshotsClient.NewListPager"},
		{regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Storage/storageAccounts$`), "AccountsClient.NewListPager"},
		{regexp.MustCompile(`(?i)/providers/Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default$`), "BlobServicesClient.GetServiceProperties"},
	}
)

func (a *ARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := armSubscription.FindStringSubmatch(r.URL.Path)
	if m == nil {
		armError(w, http.StatusNotFound, "InvalidResourceType", "no subscription in "+r.URL.Path)
		return
	}
	sub := strings.ToLower(m[1])
	a.mu.Lock()
	if a.bySub == nil {
		a.bySub = map[string]int{}
	}
	a.bySub[sub]++
	a.mu.Unlock()
	if a.Throttle.Next() {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(a.RetryAfter.Seconds())))))
		w.Header().Set("x-ms-retry-after-ms", strconv.FormatInt(a.RetryAfter.Milliseconds(), 10))
		armError(w, http.StatusTooManyRequests, "SubscriptionRequestsThrottled", "Number of read requests for subscription '"+sub+"' exceeded the limit of '12000' for time interval '01:00:00'.")
		return
	}
	s, ok := a.Subscriptions[sub]
	if !ok {
		armError(w, http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+sub+"' could not be found.")
		return
	}
	path := armFakePage.ReplaceAllString(r.URL.Path, "")
	op := ""
	for _, o := range armOperations {
		if o.path.MatchString(path) {
			op = o.name
			break
		}
	}
	if op == "" || r.Method != http.MethodGet {
		armError(w, http.StatusBadRequest, "UnsupportedOperation", r.Method+" "+r.URL.Path)
		return
	}
	t := s.Compute
	if strings.Contains(strings.ToLower(path), "/providers/microsoft.storage/") {
		t = s.Storage
	}
	// The fake servers write next links from the request's URL: the
	// client must be able to follow them.
	req := r.Clone(context.WithValue(r.Context(), runtime.CtxAPINameKey{}, op))
	req.URL.Scheme, req.URL.Host = "http", r.Host
	resp, err := t.Do(req)
	if err != nil {
		armError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	defer resp.Body.Close()
	maps.Copy(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

// CallsBySubscription returns the requests so far per subscription
// (lower case), throttled ones included.
func (a *ARM) CallsBySubscription() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.bySub)
}
