package aws

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// APIError is an AWS API call that failed for good, after the retries: it
// names the account, region and API (as IAM names the action, so that the
// operator can grant it), which fails the whole account. Err is the SDK's
// error, so errors.As finds smithy.APIError and the retry errors in it.
type APIError struct {
	Account string
	Region  string
	// API is service:Operation, e.g. ec2:DescribeVolumes.
	API string
	// Resource names the bucket or key the call was about, if any.
	Resource string
	Err      error
}

func (e *APIError) Error() string {
	msg := e.Err.Error()
	// The SDK's message repeats the operation, the request ID and the
	// HTTP status; the code and message are what an operator acts on.
	var ae smithy.APIError
	if errors.As(e.Err, &ae) {
		msg = ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	var me *retry.MaxAttemptsError
	if errors.As(e.Err, &me) {
		msg += fmt.Sprintf(" (gave up after %d attempts)", me.Attempt)
	}
	var qe ratelimit.QuotaExceededError
	if errors.As(e.Err, &qe) {
		msg += " (gave up: the client's retry quota is spent)"
	}
	on := ""
	if e.Resource != "" {
		on = " on " + e.Resource
	}
	return fmt.Sprintf("%s in %s/%s%s: %s", e.API, e.Account, e.Region, on, msg)
}

func (e *APIError) Unwrap() error { return e.Err }

// IsThrottled reports whether err is an API call that was still throttled
// when its retries ran out.
func IsThrottled(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
			return true
		}
	}
	var qe ratelimit.QuotaExceededError
	return errors.As(err, &qe)
}

// IsAccessDenied reports whether err is an API call the role may not make.
func IsAccessDenied(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure":
		return true
	}
	return false
}

// isGone reports whether err is a bucket call that found the bucket gone
// (S3 answers 404 NoSuchBucket to each of them once it is deleted).
func isGone(err error) bool {
	return errorCode(err) == "NoSuchBucket"
}

// errorCode is the API error code of err, empty when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
