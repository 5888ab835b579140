package aws

import (
	"fmt"
	"math/rand/v2"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retry is how every client of the scanner retries throttling and transient
// errors. An account's calls are spread over many APIs and regions, each
// throttled by its own token bucket per account and region; a retry policy
// that gives up early (Cloud Custodian's 4 attempts, c7n#5767; Prowler's
// default, prowler#2556) turns a busy afternoon into failed accounts, and one
// that never gives up turns a missing permission into a run that never ends.
type Retry struct {
	// MaxAttempts counts the first attempt too.
	MaxAttempts int
	// BaseDelay is the first retry's backoff ceiling; each later retry
	// doubles it, up to MaxBackoff. The delay is drawn uniformly from
	// [0, ceiling) ("full jitter"), so that the hundreds of clients a
	// run has do not retry in step.
	BaseDelay  time.Duration
	MaxBackoff time.Duration
	// Adaptive adds the SDK's client-side rate limiter (retry.NewAdaptiveMode):
	// after a throttle the client sends at a measured, lowered rate and
	// then ramps back up, instead of every later call of the same
	// paginator hitting the same throttle first. Each regional client has
	// its own, which is AWS's throttling scope (account × region × API
	// family).
	Adaptive bool
}

// DefaultRetry: 8 attempts, 500 ms doubling to at most 20 s, adaptive.
// A call still throttled after it has slept at most 0.5+1+2+4+8+16+20 =
// 51.5 s in backoff (about half of that on average with full jitter), plus
// up to 2 s per retry waiting for the adaptive limiter at its floor, fails
// its account: 65.5 s at worst (MaxWait). EC2 refills its request bucket
// within seconds, so a throttle that lasts a minute is another tool draining
// the account's quota, and the account is better scanned again later (the
// checkpoint keeps the others) than waited for while the run's other
// accounts queue behind it.
var DefaultRetry = Retry{MaxAttempts: 8, BaseDelay: 500 * time.Millisecond, MaxBackoff: 20 * time.Second, Adaptive: true}

// adaptiveFloor is the longest the adaptive limiter holds one attempt: its
// lowest send rate is 0.5 requests a second (aws/retry's minFillRate).
const adaptiveFloor = 2 * time.Second

// MaxWait is the longest a call can spend waiting between its attempts:
// the sum of the backoff ceilings (the jitter only shortens them), and with
// Adaptive the limiter's hold before each retry.
func (r Retry) MaxWait() time.Duration {
	var total time.Duration
	for i := range r.MaxAttempts - 1 {
		total += r.ceiling(i + 1)
		if r.Adaptive {
			total += adaptiveFloor
		}
	}
	return total
}

func (r Retry) check() error {
	if r.MaxAttempts < 1 || r.BaseDelay <= 0 || r.MaxBackoff < r.BaseDelay {
		return fmt.Errorf("retry %+v: want at least 1 attempt and 0 < base delay <= max backoff", r)
	}
	return nil
}

// ceiling is the backoff ceiling after the given failed attempt (1-based).
func (r Retry) ceiling(attempt int) time.Duration {
	d := r.BaseDelay
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// BackoffDelay implements retry.BackoffDelayer: full jitter under the
// doubling ceiling. The SDK's own backoff starts throttles at 1 s whatever
// the base delay, which the tests cannot shorten; this one is the policy
// documented above, for throttles and transient errors alike.
func (r Retry) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return time.Duration(rand.Int64N(int64(r.ceiling(attempt)) + 1)), nil
}

// retryer builds one client's retryer. aws.Config.Retryer is called once
// per client, so each regional client has its own retry quota and, when
// adaptive, its own rate limiter.
func (r Retry) retryer() awssdk.Retryer {
	standard := func(o *retry.StandardOptions) {
		o.MaxAttempts = r.MaxAttempts
		o.MaxBackoff = r.MaxBackoff
		o.Backoff = r
	}
	if r.Adaptive {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, standard)
		})
	}
	return retry.NewStandard(standard)
}
