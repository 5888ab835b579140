package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// reviewAPIVersion is the only AdmissionReview version served: every
// supported Kubernetes release sends v1 when the registration asks for it.
const reviewAPIVersion = "admission.k8s.io/v1"

// groupVersionKind is the request's kind, as admission/v1 spells it.
type groupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// reviewHead is the part of an AdmissionReview every request needs. The fast
// path decodes only this: the object itself is skipped by the decoder,
// never materialised as maps.
type reviewHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		UID       string           `json:"uid"`
		Kind      groupVersionKind `json:"kind"`
		Operation string           `json:"operation"`
	} `json:"request"`
}

// reviewRequest is the whole request the GPU path needs. Object stays raw
// until the handler decides to decode it; oldObject is never read.
type reviewRequest struct {
	UID       string           `json:"uid"`
	Kind      groupVersionKind `json:"kind"`
	Namespace string           `json:"namespace"`
	Name      string           `json:"name"`
	Operation string           `json:"operation"`
	UserInfo  struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"userInfo"`
	Object json.RawMessage `json:"object"`
	DryRun *bool           `json:"dryRun"`
}

type reviewFull struct {
	Request *reviewRequest `json:"request"`
}

// requestError is a request the handler cannot answer on its merits: the
// HTTP status and the message that goes back in an Errored response.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{code: 400, msg: fmt.Sprintf(format, args...)}
}

// decodeHead decodes and checks the envelope of an AdmissionReview. It is
// the decode step every request pays for, so it is also the fuzz target.
func decodeHead(body []byte) (*reviewHead, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("request body is empty: want an AdmissionReview")
	}
	var h reviewHead
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, badRequest("request body is not an AdmissionReview: %s", jsonErrorText(err))
	}
	switch {
	case h.Kind != "AdmissionReview":
		return nil, badRequest("kind %q: want AdmissionReview", h.Kind)
	case h.APIVersion != reviewAPIVersion:
		return nil, badRequest("apiVersion %q: want %s (set admissionReviewVersions: [v1])", h.APIVersion, reviewAPIVersion)
	case h.Request == nil:
		return nil, badRequest("AdmissionReview has no request")
	case h.Request.UID == "":
		return nil, badRequest("AdmissionReview request has no uid")
	}
	return &h, nil
}

// decodeRequest decodes the request fully, for the GPU path.
func decodeRequest(body []byte) (*reviewRequest, error) {
	var f reviewFull
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, badRequest("request body is not an AdmissionReview: %s", jsonErrorText(err))
	}
	if f.Request == nil {
		return nil, badRequest("AdmissionReview has no request")
	}
	return f.Request, nil
}

// jsonErrorText names where decoding failed without echoing the body.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error()
	case errors.As(err, &te):
		return "field " + te.Field + " has JSON type " + te.Value + ", want " + te.Type.String()
	}
	return err.Error()
}

// appendJSONString appends s as a JSON string. UIDs are UUIDs, so the common
// case is a plain copy; anything else goes through encoding/json, which
// also replaces invalid UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			js, _ := json.Marshal(s)
			return append(dst, js...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
