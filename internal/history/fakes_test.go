package history

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is the objects of one fake bucket or container, by full key. Each
// fake server below speaks one cloud's wire format over it; tests plant
// objects directly (a corrupt one) and make the server hang (cancellation).
type backend struct {
	mu      sync.Mutex
	objects map[string][]byte
	// hang makes every request wait for its context to end.
	hang atomic.Bool
	// pageSize bounds list pages, so that the SDKs' paginators turn pages.
	pageSize int
}

func newBackend() *backend { return &backend{objects: map[string][]byte{}, pageSize: 2} }

func (b *backend) set(key string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[key] = data
}

func (b *backend) get(key string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.objects[key]
	return d, ok
}

func (b *backend) del(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, key)
}

// page lists keys with the prefix after the marker (a key), sorted, at
// most pageSize of them, and the marker of the next page ("" at the end).
func (b *backend) page(prefix, after string) ([]string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > b.pageSize {
		keys = keys[:b.pageSize]
		return keys, keys[len(keys)-1]
	}
	return keys, ""
}

// serve wraps a handler with the hang switch and a check that a test does
// not leave the server stuck.
func (b *backend) serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.hang.Load() {
			// Read the body first: the server notices a closed connection
			// (and cancels r.Context()) only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				t.Errorf("%s %s: the client never cancelled", r.Method, r.URL)
			}
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checksum encodes a CRC as S3 and Cloud Storage do: base64 of its four
// big-endian bytes.
func checksum(c uint32) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, c))
}

// --- S3: path-style REST with XML (ListObjectsV2, GetObject, PutObject,
// DeleteObject).

type s3ListResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Name                  string
	Prefix                string
	KeyCount              int
	MaxKeys               int
	IsTruncated           bool
	Contents              []s3Object
	ContinuationToken     string `xml:",omitempty"`
	NextContinuationToken string `xml:",omitempty"`
}

type s3Object struct {
	Key          string
	Size         int
	LastModified string
	ETag         string
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

func fakeS3(t *testing.T, b *backend, bucket string) *httptest.Server {
	return b.serve(t, func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/")
		bk, key, _ := strings.Cut(path, "/")
		if bk != bucket {
			s3Error(w, http.StatusNotFound, "NoSuchBucket")
			return
		}
		switch {
		case r.Method == http.MethodGet && key == "":
			q := r.URL.Query()
			if q.Get("list-type") != "2" {
				s3Error(w, http.StatusBadRequest, "NotImplemented")
				return
			}
			keys, next := b.page(q.Get("prefix"), q.Get("continuation-token"))
			res := s3ListResult{Name: bucket, Prefix: q.Get("prefix"), KeyCount: len(keys), MaxKeys: b.pageSize,
				IsTruncated: next != "", ContinuationToken: q.Get("continuation-token"), NextContinuationToken: next}
			for _, k := range keys {
				d, _ := b.get(k)
				res.Contents = append(res.Contents, s3Object{Key: k, Size: len(d), LastModified: "2026-11-29T00:00:00.000Z", ETag: `"x"`})
			}
			w.Header().Set("Content-Type", "application/xml")
			_ = xml.NewEncoder(w).Encode(res)
		case r.Method == http.MethodGet:
			d, ok := b.get(key)
			if !ok {
				s3Error(w, http.StatusNotFound, "NoSuchKey")
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(d)))
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("x-amz-checksum-mode") == "ENABLED" {
				// As S3 does for an object uploaded with a checksum: the
				// SDK validates the body against it.
				w.Header().Set("x-amz-checksum-crc32", checksum(crc32.ChecksumIEEE(d)))
			}
			_, _ = w.Write(d)
		case r.Method == http.MethodPut:
			d, err := s3Body(r)
			if err != nil {
				s3Error(w, http.StatusBadRequest, "IncompleteBody")
				return
			}
			b.set(key, d)
			w.Header().Set("ETag", `"x"`)
		case r.Method == http.MethodDelete:
			b.del(key)
			w.WriteHeader(http.StatusNoContent)
		default:
			s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		}
	})
}

// s3Body reads a PutObject body, decoding aws-chunked (the SDK's trailing
// checksum encoding) when the request uses it.
func s3Body(r *http.Request) ([]byte, error) {
	if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		return io.ReadAll(r.Body)
	}
	br := bufio.NewReader(r.Body)
	var out []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil // trailers follow
		}
		chunk := make([]byte, n+2) // data and CRLF
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, err
		}
		out = append(out, chunk[:n]...)
	}
}

// --- Cloud Storage: the JSON API (objects.list, multipart upload, delete)
// and media reads on the XML path the client uses by default.

type gcsObject struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Bucket string `json:"bucket"`
	Size   string `json:"size"`
	// CRC32C is what the client's writer checks the upload against.
	CRC32C string `json:"crc32c,omitempty"`
}

func gcsError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q}}`, status, msg)
}

func fakeGCS(t *testing.T, b *backend, bucket string) *httptest.Server {
	return b.serve(t, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		objects := "/storage/v1/b/" + bucket + "/o"
		switch {
		case r.Method == http.MethodGet && p == objects:
			q := r.URL.Query()
			keys, next := b.page(q.Get("prefix"), q.Get("pageToken"))
			res := struct {
				Kind          string      `json:"kind"`
				Items         []gcsObject `json:"items"`
				NextPageToken string      `json:"nextPageToken,omitempty"`
			}{Kind: "storage#objects", NextPageToken: next}
			for _, k := range keys {
				d, _ := b.get(k)
				res.Items = append(res.Items, gcsObject{Kind: "storage#object", Name: k, Bucket: bucket, Size: strconv.Itoa(len(d))})
			}
			_ = json.NewEncoder(w).Encode(res)
		case r.Method == http.MethodPost && p == "/upload"+objects:
			name, data, err := gcsMultipart(r)
			if err != nil {
				gcsError(w, http.StatusBadRequest, err.Error())
				return
			}
			b.set(name, data)
			_ = json.NewEncoder(w).Encode(gcsObject{Kind: "storage#object", Name: name, Bucket: bucket, Size: strconv.Itoa(len(data)),
				CRC32C: checksum(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))})
		case r.Method == http.MethodDelete && strings.HasPrefix(p, objects+"/"):
			key, _ := url.PathUnescape(strings.TrimPrefix(p, objects+"/"))
			if _, ok := b.get(key); !ok {
				gcsError(w, http.StatusNotFound, "No such object")
				return
			}
			b.del(key)
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && strings.HasPrefix(p, "/"+bucket+"/"):
			key, _ := url.PathUnescape(strings.TrimPrefix(p, "/"+bucket+"/"))
			d, ok := b.get(key)
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(d)))
			w.Header().Set("Content-Type", "application/gzip")
			_, _ = w.Write(d)
		default:
			t.Errorf("fake GCS: unexpected %s %s", r.Method, r.URL)
			gcsError(w, http.StatusNotImplemented, "not implemented")
		}
	})
}

// gcsMultipart reads an uploadType=multipart body: the object's JSON
// metadata, then its bytes.
func gcsMultipart(r *http.Request) (string, []byte, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	meta, err := mr.NextPart()
	if err != nil {
		return "", nil, err
	}
	var o gcsObject
	if err := json.NewDecoder(meta).Decode(&o); err != nil {
		return "", nil, err
	}
	media, err := mr.NextPart()
	if err != nil {
		return "", nil, err
	}
	data, err := io.ReadAll(media)
	return o.Name, data, err
}

// --- Azure Blob: the Blob service REST API (List Blobs, Put Blob, Get
// Blob, Delete Blob).

type azList struct {
	XMLName       xml.Name `xml:"EnumerationResults"`
	ContainerName string   `xml:"ContainerName,attr"`
	Prefix        string
	Marker        string
	Blobs         []azBlob `xml:"Blobs>Blob"`
	NextMarker    string
}

type azBlob struct {
	Name       string
	Properties struct {
		ContentLength int    `xml:"Content-Length"`
		BlobType      string `xml:"BlobType"`
	}
}

func azError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

func fakeAzure(t *testing.T, b *backend, container string) *httptest.Server {
	return b.serve(t, func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		c, key, _ := strings.Cut(p, "/")
		if c != container {
			azError(w, http.StatusNotFound, "ContainerNotFound")
			return
		}
		w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
		w.Header().Set("Last-Modified", "Sun, 29 Nov 2026 00:00:00 GMT")
		w.Header().Set("ETag", `"0x1"`)
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodGet && key == "" && q.Get("comp") == "list" && q.Get("restype") == "container":
			keys, next := b.page(q.Get("prefix"), q.Get("marker"))
			res := azList{ContainerName: container, Prefix: q.Get("prefix"), Marker: q.Get("marker"), NextMarker: next}
			for _, k := range keys {
				d, _ := b.get(k)
				bl := azBlob{Name: k}
				bl.Properties.ContentLength, bl.Properties.BlobType = len(d), "BlockBlob"
				res.Blobs = append(res.Blobs, bl)
			}
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, xml.Header)
			_ = xml.NewEncoder(w).Encode(res)
		case r.Method == http.MethodPut && key != "":
			if r.Header.Get("x-ms-blob-type") != "BlockBlob" {
				azError(w, http.StatusBadRequest, "InvalidHeaderValue")
				return
			}
			d, err := io.ReadAll(r.Body)
			if err != nil {
				azError(w, http.StatusBadRequest, "InvalidInput")
				return
			}
			b.set(key, d)
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet && key != "":
			d, ok := b.get(key)
			if !ok {
				azError(w, http.StatusNotFound, "BlobNotFound")
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(d)))
			w.Header().Set("x-ms-blob-type", "BlockBlob")
			_, _ = w.Write(d)
		case r.Method == http.MethodDelete && key != "":
			if _, ok := b.get(key); !ok {
				azError(w, http.StatusNotFound, "BlobNotFound")
				return
			}
			b.del(key)
			w.WriteHeader(http.StatusAccepted)
		default:
			t.Errorf("fake Azure: unexpected %s %s", r.Method, r.URL)
			azError(w, http.StatusNotImplemented, "NotImplemented")
		}
	})
}
