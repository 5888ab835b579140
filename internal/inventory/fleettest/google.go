package fleettest

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Google serves the Compute Engine REST API, the Cloud Storage JSON API and
// the Resource Manager v3 API from canned responses in their own wire
// shapes, one per page. A request is known by its path and its project and
// pageToken parameters (GoogleKey).
type Google struct {
	T testing.TB
	// Pages maps a request key to its answer: an inline JSON body, or a
	// file name ending in .json, read from testdata/.
	Pages map[string]string
	// Fail answers the requests whose key starts with a prefix with the
	// statuses listed, one per request, then serves the page; a status
	// listed as negative is answered for ever.
	Fail map[string][]int
	// Throttle, when set, picks requests to answer with 429
	// rateLimitExceeded, as Compute Engine and Cloud Storage throttle.
	Throttle *Throttle

	mu        sync.Mutex
	calls     []string // METHOD key, in order
	query     []string // raw queries, in order
	byProject map[string]int
}

// GoogleKey is a request's key in Pages: its path, then its project, query
// and pageToken parameters.
func GoogleKey(r *http.Request) string {
	k := r.URL.Path
	q := r.URL.Query()
	var params []string
	for _, p := range []string{"project", "query", "pageToken"} {
		if v := q.Get(p); v != "" {
			params = append(params, p+"="+v)
		}
	}
	if len(params) > 0 {
		k += "?" + strings.Join(params, "&")
	}
	return k
}

// GoogleError is the error body every one of these APIs sends.
func GoogleError(code int) string {
	switch code {
	case http.StatusTooManyRequests:
		return `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'compute.googleapis.com' for consumer 'project_number:123456789012'.","errors":[{"message":"Quota exceeded","domain":"usageLimits","reason":"rateLimitExceeded"}],"status":"RESOURCE_EXHAUSTED"}}`
	case http.StatusForbidden:
		return `{"error":{"code":403,"message":"auditor@ml-prod-4821.iam.gserviceaccount.com does not have storage.buckets.list access to the Google Cloud project. Permission 'storage.buckets.list' denied on resource (or it may not exist).","errors":[{"message":"auditor@ml-prod-4821.iam.gserviceaccount.com does not have storage.buckets.list access to the Google Cloud project.","domain":"global","reason":"forbidden"}]}}`
	}
	return fmt.Sprintf(`{"error":{"code":%d,"message":"%s","errors":[{"message":"%s","domain":"global","reason":"backendError"}]}}`, code, http.StatusText(code), http.StatusText(code))
}

var computeProject = regexp.MustCompile(`^/compute/v1/projects/([^/]+)/`)

func (f *Google) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := GoogleKey(r)
	project := r.URL.Query().Get("project")
	if m := computeProject.FindStringSubmatch(r.URL.Path); m != nil {
		project = m[1]
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+k)
	f.query = append(f.query, r.URL.RawQuery)
	if f.byProject == nil {
		f.byProject = map[string]int{}
	}
	f.byProject[project]++
	var status int
	for prefix, codes := range f.Fail {
		if strings.HasPrefix(k, prefix) && len(codes) > 0 {
			status = codes[0]
			if status > 0 {
				f.Fail[prefix] = codes[1:]
			} else {
				status = -status
			}
		}
	}
	f.mu.Unlock()
	if status == 0 && f.Throttle.Next() {
		status = http.StatusTooManyRequests
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, GoogleError(status))
		return
	}
	page, ok := f.Pages[k]
	if !ok || r.Method != http.MethodGet {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, GoogleError(http.StatusNotFound))
		return
	}
	body := []byte(page)
	if strings.HasSuffix(page, ".json") {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", page)); err != nil {
			f.T.Error(err)
		}
	}
	w.Write(body)
}

// Count returns how many requests "METHOD key" began with prefix.
func (f *Google) Count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.calls {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// Calls returns the requests so far, "METHOD key", in order.
func (f *Google) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Queries returns the requests' raw queries, in the order of Calls.
func (f *Google) Queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.query)
}

// CallsByProject returns the requests so far per project (the compute
// path's, or the project parameter's), throttled ones included.
func (f *Google) CallsByProject() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.byProject)
}
