package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// MaxManifestBytes bounds one manifest document; the API server's own limit
// on a request body is 3 MiB.
const MaxManifestBytes = 3 << 20

// Document is one object read from a manifest stream.
type Document struct {
	// Index is the document's position in its stream, from 1; items of a
	// kind: List are numbered within it as Index.Item.
	Index  int
	Item   int
	Object map[string]any
}

// DecodeManifests reads a stream of YAML documents (separated by ---) or of
// JSON objects. Empty documents are skipped and kind: List is expanded into
// its items. Errors name the document at fault.
//
// A key set twice in one mapping (YAML or JSON) is an error naming the key,
// as kubectl's strict decoding makes it: a lenient decoder keeps the last
// value, so `interruptible: "false"` followed by `"true"` would silently
// land a workload on spot capacity.
func DecodeManifests(r io.Reader) ([]Document, error) {
	var docs []Document
	err := ScanManifests(r, func(d Document) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// ScanManifests is DecodeManifests one document at a time: fn gets each
// object as soon as it is decoded, and nothing is kept after it returns, so
// that a caller that does not keep them either (qm eval) runs in memory flat
// in the size of the stream. An error from fn stops the scan and is
// returned as it is.
func ScanManifests(r io.Reader, fn func(Document) error) error {
	yr := utilyaml.NewYAMLReader(bufio.NewReaderSize(r, 64<<10))
	for i := 1; ; i++ {
		raw, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading document %d: %w", i, err)
		}
		if len(raw) > MaxManifestBytes {
			return fmt.Errorf("document %d is larger than %d MiB", i, MaxManifestBytes>>20)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return fmt.Errorf("document %d: %w", i, yamlError(err))
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		obj, err := DecodeObject(js)
		if err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		if kind, _ := obj["kind"].(string); kind == "List" {
			items, _ := obj["items"].([]any)
			for j, it := range items {
				m, ok := it.(map[string]any)
				if !ok {
					return fmt.Errorf("document %d item %d: want an object", i, j+1)
				}
				if err := fn(Document{Index: i, Item: j + 1, Object: m}); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(Document{Index: i, Object: obj}); err != nil {
			return err
		}
	}
}

// DecodeObject decodes one JSON object, as the admission path receives it.
func DecodeObject(js []byte) (map[string]any, error) {
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("want a Kubernetes object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("want a Kubernetes object, got null")
	}
	if _, ok := obj["kind"].(string); !ok {
		return nil, errors.New("object has no kind")
	}
	return obj, nil
}

// duplicateKey matches the YAML decoder's report of a key set twice.
var duplicateKey = regexp.MustCompile(`line (\d+): key (.+?) already set in map`)

// yamlError rewrites the YAML decoder's multi-line error into one line and
// spells out a duplicate key, the one strict-decoding error users hit.
func yamlError(err error) error {
	if m := duplicateKey.FindStringSubmatch(err.Error()); m != nil {
		return &DuplicateKeyError{Key: m[2], Line: m[1]}
	}
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}

// DuplicateKeyError is a manifest that sets one key twice in a mapping.
type DuplicateKeyError struct {
	// Key is the key as the YAML decoder quotes it, e.g. "quartermaster.io/interruptible".
	Key string
	// Line is the line of the second occurrence, counted from the start of
	// its document.
	Line string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("key %s is set twice (line %s of the document): refused, as kubectl's strict decoding does; keep one value", e.Key, e.Line)
}

// stripComments drops whole-line YAML comments, to spot comment-only
// documents.
func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, t...)
		}
	}
	return out
}
