package admission

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// fingerprint hashes what a decision depends on in obj: every pod spec and
// the quartermaster.io/ annotations (of the object and of its pod templates),
// but not the replica counts, labels or other annotations, and not the
// contributions of d itself (its pins, spot selector and toleration), which
// are taken away first. Because buildPatch only adds what stripSpec removes,
// the fingerprint of an object is the same before and after its patch, so
// it can be computed before the patch is applied.
func fingerprint(obj map[string]any, w *workload.Workload, d *Decision, keys workload.LabelKeys) string {
	c := hasherPool.Get().(*canonicalHasher)
	defer c.release()
	meta, _ := obj["metadata"].(map[string]any)
	c.ourAnnotations(meta)
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		c.str(ps.Pointer)
		if ps.Pointer != "" { // a Pod's own metadata is the object's
			tmplMeta, _ := pointerGet(obj, ps.Pointer+"/metadata").(map[string]any)
			c.ourAnnotations(tmplMeta)
		}
		spec, _ := pointerGet(obj, ps.Pointer+"/spec").(map[string]any)
		contrib := contributionsFor(d, keys, ps.GPU.Count > 0)
		c.value(stripSpec(spec, &contrib, keys))
	}
	return c.sum()
}

// canonicalHasher hashes decoded JSON in one canonical form: type tags,
// length-prefixed strings, lists and maps, map keys sorted. It writes
// straight into the digest through a reused buffer, because encoding/json
// (which also sorts keys) allocated a third more per decision than the
// rest of the admission path.
type canonicalHasher struct {
	digest hash.Hash
	buf    []byte
	keys   []string // a stack of the maps' sorted keys, reused
}

var hasherPool = sync.Pool{New: func() any { return &canonicalHasher{digest: sha256.New(), buf: make([]byte, 0, 4096)} }}

func (c *canonicalHasher) release() {
	c.digest.Reset()
	clear(c.keys[:cap(c.keys)]) // hold no strings of past requests
	c.buf, c.keys = c.buf[:0], c.keys[:0]
	hasherPool.Put(c)
}

// ourAnnotations hashes the quartermaster.io/ annotations of meta that are
// input to a decision (all but the decision itself), sorted.
func (c *canonicalHasher) ourAnnotations(meta map[string]any) {
	ann, _ := meta["annotations"].(map[string]any)
	start := len(c.keys)
	for k := range ann {
		if strings.HasPrefix(k, workload.AnnotationPrefix) && k != workload.AnnotationDecision {
			c.keys = append(c.keys, k)
		}
	}
	own := c.keys[start:]
	slices.Sort(own)
	c.buf = strconv.AppendInt(append(c.buf, 'a'), int64(len(own)), 10)
	for _, k := range own {
		c.str(k)
		c.value(ann[k])
	}
	c.keys = c.keys[:start]
}

func (c *canonicalHasher) value(v any) {
	switch x := v.(type) {
	case nil:
		c.buf = append(c.buf, 'n')
	case bool:
		c.buf = append(c.buf, "ft"[b2i(x)])
	case string:
		c.str(x)
	case float64:
		c.buf = strconv.AppendFloat(append(c.buf, 'd'), x, 'g', -1, 64)
		c.buf = append(c.buf, ';')
	case []any:
		c.buf = strconv.AppendInt(append(c.buf, 'l'), int64(len(x)), 10)
		for _, e := range x {
			c.value(e)
		}
	case map[string]any:
		c.buf = strconv.AppendInt(append(c.buf, 'm'), int64(len(x)), 10)
		start := len(c.keys)
		for k := range x {
			c.keys = append(c.keys, k)
		}
		sorted := c.keys[start:] // nested maps push their keys after these
		slices.Sort(sorted)
		for _, k := range sorted {
			c.str(k)
			c.value(x[k])
		}
		c.keys = c.keys[:start]
	default: // other decoders' numbers (int64, json.Number): by type and value
		c.buf = fmt.Appendf(append(c.buf, 'x'), "%T=%v;", x, x)
	}
	if len(c.buf) >= 2048 {
		c.digest.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

// str hashes a string as value would, without boxing it into an interface.
func (c *canonicalHasher) str(s string) {
	c.buf = strconv.AppendInt(append(c.buf, 's'), int64(len(s)), 10)
	c.buf = append(append(c.buf, ':'), s...)
}

func (c *canonicalHasher) sum() string {
	c.digest.Write(c.buf)
	var sum [sha256.Size]byte
	return hex.EncodeToString(c.digest.Sum(sum[:0])[:16])
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
