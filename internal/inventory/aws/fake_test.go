package aws

import (
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/inventory/fleettest"
)

// The fake AWS lives in fleettest, where the fleet benchmark, which scans
// the three clouds at once, reaches it too; these names keep the tests
// short.
type (
	fakeAWS        = fleettest.AWS
	fakeAccount    = fleettest.AWSAccount
	fakeRegion     = fleettest.AWSRegion
	fakeInstance   = fleettest.AWSInstance
	fakeVolume     = fleettest.AWSVolume
	fakeSnapshot   = fleettest.AWSSnapshot
	fakeKey        = fleettest.AWSKey
	fakeBucket     = fleettest.AWSBucket
	fakeOrgAccount = fleettest.AWSOrgAccount
	fault          = fleettest.Fault
	assumeCall     = fleettest.AssumeCall
)

const (
	callerKey     = fleettest.AWSCallerKey
	callerAccount = fleettest.AWSCallerAccount
)

func newFakeAWS(t testing.TB) *fakeAWS { return fleettest.NewAWS(t) }

func keyARN(region, account, id string) string { return fleettest.KeyARN(region, account, id) }

// endpoints points every service at the fake.
func endpoints(f *fakeAWS) Endpoints {
	u := f.URLs()
	return Endpoints{STS: u.STS, Organizations: u.Organizations, EC2: u.EC2, KMS: u.KMS, S3: u.S3, S3PathStyle: true}
}
