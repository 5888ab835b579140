package history

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var signingRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/s3/aws4_request`)

// TestS3SwitchesToTheBucketsRegion: a store that starts signing for another
// region than the bucket's (AWS_REGION is the cluster's, the bucket is
// elsewhere) is refused once, as S3 refuses it, with a 301
// PermanentRedirect naming the bucket's region in x-amz-bucket-region; it
// repeats that call for the bucket's region and signs every later call so.
// MinIO's refusal is a 400 AuthorizationHeaderMalformed with the same
// header (minio_test.go, "minio-other-region").
func TestS3SwitchesToTheBucketsRegion(t *testing.T) {
	b := newBackend()
	inner, err := url.Parse(fakeS3(t, b, "runs").URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(inner)
	var mu sync.Mutex
	var signed []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region := "unsigned"
		if m := signingRegion.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			region = m[1]
		}
		mu.Lock()
		signed = append(signed, region)
		mu.Unlock()
		if region != "eu-west-1" {
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			s3Error(w, http.StatusMovedPermanently, "PermanentRedirect")
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDHISTORY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "history-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	s, err := Open(t.Context(), "s3://runs/qm", Options{Endpoint: srv.URL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	rs := five(t, s)
	if got := listIDs(t, s); len(got) != 5 {
		t.Errorf("List = %v, want 5 runs", got)
	}
	if _, err := s.Get(t.Context(), rs[0].Run.ID); err != nil {
		t.Error(err)
	}
	if err := s.Prune(t.Context(), Retention{Runs: 1}); err != nil {
		t.Error(err)
	}
	// One refused call, then every call (puts, list pages, get, deletes)
	// for eu-west-1.
	mu.Lock()
	defer mu.Unlock()
	want := []string{"us-east-1"}
	for range signed[1:] {
		want = append(want, "eu-west-1")
	}
	if d := cmp.Diff(want, signed); d != "" || len(signed) < 12 {
		t.Errorf("signing regions of %d calls, in order (-want +got):\n%s", len(signed), d)
	}
}
