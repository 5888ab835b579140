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

// reviewRequest is the whole request the GPU path needs, decoded in one
// pass with the object and the old object's annotations.
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
	Object map[string]any `json:"object"`
	// OldObject is decoded only as far as the decision it was admitted
	// with: an UPDATE keeps that decision while nothing it depends on
	// changed (see update.go).
	OldObject *struct {
		Metadata struct {
			Annotations map[string]any `json:"annotations"`
		} `json:"metadata"`
	} `json:"oldObject"`
	DryRun *bool `json:"dryRun"`
}

type reviewFull struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Request    *reviewRequest `json:"request"`
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
	uid := ""
	if h.Request != nil {
		uid = h.Request.UID
	}
	if err := checkEnvelope(h.APIVersion, h.Kind, h.Request != nil, uid); err != nil {
		return nil, err
	}
	return &h, nil
}

// decodeRequest decodes the whole review, object included, in one pass:
// the GPU path's only decode. When the body is well-formed JSON with a uid
// but a field of the wrong type, it returns the request with the error so
// that the answer can still name the request.
func decodeRequest(body []byte) (*reviewRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("request body is empty: want an AdmissionReview")
	}
	var f reviewFull
	if err := json.Unmarshal(body, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && f.Request != nil && f.Request.UID != "" {
			return f.Request, badRequest("request body is not an AdmissionReview: %s", jsonErrorText(err))
		}
		return nil, badRequest("request body is not an AdmissionReview: %s", jsonErrorText(err))
	}
	uid := ""
	if f.Request != nil {
		uid = f.Request.UID
	}
	if err := checkEnvelope(f.APIVersion, f.Kind, f.Request != nil, uid); err != nil {
		return nil, err
	}
	return f.Request, nil
}

func checkEnvelope(apiVersion, kind string, hasRequest bool, uid string) error {
	switch {
	case kind != "AdmissionReview":
		return badRequest("kind %q: want AdmissionReview", kind)
	case apiVersion != reviewAPIVersion:
		return badRequest("apiVersion %q: want %s (set admissionReviewVersions: [v1])", apiVersion, reviewAPIVersion)
	case !hasRequest:
		return badRequest("AdmissionReview has no request")
	case uid == "":
		return badRequest("AdmissionReview request has no uid")
	}
	return nil
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
