// Package history keeps the reports of earlier audit runs, so that a run
// can be compared with the ones before it (DESIGN §2: drift of
// configuration since the last run, trends and forecasts of spend).
//
// In the audit flow it sits after internal/audit and beside the report
// writers: cmd/auditor opens a Store from a URL (Open), reads the recent
// runs (Recent), computes what changed since the previous run (Compare,
// Changes) and the spend trend with its forecast and anomalies
// (BuildTrend) into the report, then stores the report (Store.Put) and
// prunes old runs (Store.Prune). docs/history.md is the operator's guide.
//
// # Stores
//
// A store holds one gzip-compressed report.json per run, named
// run-<start, UTC, fixed width>-<escaped run ID>.json.gz so that sorting
// the names sorts the runs by time. The directory store (dir:///path)
// writes a temporary file and renames it; the object stores (s3://,
// gs://, azblob://) rely on a single-request upload replacing an object
// whole.
//
// The object stores use the real SDKs (aws-sdk-go-v2 service/s3,
// cloud.google.com/go/storage, azure-sdk-for-go sdk/storage/azblob)
// behind one unexported bucket interface of four methods (list, read,
// write, remove of flat names), with one small adapter per SDK. Naming,
// encoding, corruption reporting and retention are written once, in
// store, over that interface, and one conformance test runs every store
// through the same cases. Using the three SDKs directly in three Store
// implementations would have repeated that logic three times, with three
// chances to sort or prune differently.
//
// The tests drive the real SDKs through one conformance suite against
// httptest servers speaking each service's wire format (S3 REST XML, the
// Cloud Storage JSON API, the Azure Blob REST API) over an in-memory
// backend, and against real servers: Azurite for Azure Blob, from npm (make
// tools-emulators), and MinIO for S3, built from the Go module proxy by
// hack/tools.sh and started by the tests (minio_test.go, built with the
// minio tag: make test-minio), in a plain bucket and in one with SSE-KMS
// default encryption and versioning. No Cloud Storage emulator is packaged
// for npm or Debian; fake-gcs-server would bring a large dependency tree for
// the four calls the store makes, so Cloud Storage is tested against the
// httptest server only. Options.Endpoint points the stores at any emulator.
//
// # Trend, forecast and anomalies
//
// BuildTrend turns runs into report.Trend: a point per run, a least
// squares line through the monthly spend run rate (gonum/stat), the
// month-end forecast and the teams whose run rate moved far outside its
// own history. The formulas are in BuildTrend's documentation and in
// docs/history.md.
package history
