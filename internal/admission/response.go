package admission

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// reviewResponse is admission/v1 AdmissionResponse, reduced to what the
// webhook sets.
type reviewResponse struct {
	UID       string  `json:"uid"`
	Allowed   bool    `json:"allowed"`
	Status    *status `json:"status,omitempty"`
	Patch     []byte  `json:"patch,omitempty"`
	PatchType string  `json:"patchType,omitempty"`
	// Warnings reach the user as kubectl warnings.
	Warnings []string `json:"warnings,omitempty"`
}

// status is the subset of metav1.Status the API server shows the user.
type status struct {
	Code    int32  `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
}

type reviewOut struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Response   *reviewResponse `json:"response"`
}

func erroredResponse(uid string, e *requestError) *reviewResponse {
	return &reviewResponse{UID: uid, Status: &status{Code: int32(e.code), Reason: http.StatusText(e.code), Message: e.msg}}
}

// writeErrored answers a request that could not be judged.
func writeErrored(w http.ResponseWriter, code int, uid, msg string) {
	writeReview(w, code, erroredResponse(uid, &requestError{code: code, msg: msg}))
}

func writeReview(w http.ResponseWriter, code int, resp *reviewResponse) {
	body, err := json.Marshal(reviewOut{APIVersion: reviewAPIVersion, Kind: "AdmissionReview", Response: resp})
	if err != nil { // only strings, bools and bytes: cannot fail
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

var allowedPrefix = []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":`)

// writeAllowed is the fast path's answer, built without reflection.
func writeAllowed(w http.ResponseWriter, uid string) {
	var arr [256]byte
	b := append(arr[:0], allowedPrefix...)
	b = appendJSONString(b, uid)
	b = append(b, `,"allowed":true}}`...)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
