package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// The contract's rule names (DESIGN 4.3).
const (
	ruleDeny     = "deny"
	ruleWarn     = "warn"
	ruleRestrict = "restrict"
	ruleRequire  = "require"
)

// rootPackage is the package prefix the engine evaluates; audit packages
// below it are the auditor's alone.
var (
	rootPackage  = ast.MustParseRef("data.quartermaster")
	auditPackage = ast.MustParseRef("data.quartermaster.audit")
	placementRef = ast.MustParseRef("input.placement")
)

// compilations counts PrepareForEval calls in this process: the proof that
// the request path never compiles (see BenchmarkEvaluate).
var compilations atomic.Int64

// Compilations returns how many policy queries this process has prepared.
func Compilations() int64 { return compilations.Load() }

// MaxFileBytes bounds one file of a bundle.
const MaxFileBytes = 4 << 20

// Options configure loading.
type Options struct {
	// Regions is the region → jurisdiction table placement uses; it is
	// mounted as data.config.regions so that policy and placement never
	// disagree. Nil means costing.DefaultRegions().
	Regions *costing.Regions
	// RunTests makes Load run the bundle's own *_test.rego tests and reject
	// the bundle when any fails (the hot reloader always sets it).
	RunTests bool
}

// Bundle is a compiled policy bundle. It is immutable and safe for
// concurrent use.
type Bundle struct {
	revision string
	// modules are the policy modules, tests the *_test.rego ones, by file.
	modules map[string]*ast.Module
	tests   map[string]*ast.Module
	data    map[string]any

	phase1, phase2 *preparedQuery
	// audit is the deny and warn rules of the quartermaster.audit.*
	// packages, which the auditor runs over inventory resources (Audit).
	audit *preparedQuery
	// auditGate is what the audit rules require of a resource (MayAudit).
	auditGate *auditGate
	// fields are the input fields the rules read (see inputValue).
	fields *inputFields
	// folded counts the rules evaluated at load (see fold.go).
	folded int
	modes  modeTable
	exempt namespaceMatcher
}

// preparedQuery is one compiled query reading a list of (package, rule)
// results into variables. It is evaluated with topdown directly: the rego
// package's per-evaluation context, metrics and result conversion cost
// more allocations than the smaller rules of a bundle.
type preparedQuery struct {
	body          ast.Body
	queryCompiler ast.QueryCompiler
	compiler      *ast.Compiler
	store         storage.Store
	slots         []slot
}

type slot struct {
	pkg  string // "quartermaster.access"
	name string // deny, warn, restrict, require
	v    string // query variable
	// short is the package without the "quartermaster." prefix, the key of
	// the enforcement table.
	short string
}

// Revision is a content hash of the bundle's files.
func (b *Bundle) Revision() string { return b.revision }

// Packages lists the evaluated packages.
func (b *Bundle) Packages() []string {
	var out []string
	for _, q := range []*preparedQuery{b.phase1, b.phase2} {
		if q == nil {
			continue
		}
		for _, s := range q.slots {
			if !slices.Contains(out, s.pkg) {
				out = append(out, s.pkg)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Load reads a bundle from fsys: every .rego file (files ending in
// _test.rego are tests) and every .json/.yaml/.yml file, mounted at
// data.config.<file name without extension> wherever it sits, so that a flat
// ConfigMap and a directory tree load alike. Names starting with "." are
// skipped (a ConfigMap mount's ..data links among them). The same file name
// twice, or a file named regions.*, is an error: regions come from the
// catalog's region table.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*Bundle, error) {
	files, err := readFiles(fsys)
	if err != nil {
		return nil, err
	}
	return LoadFiles(ctx, files, opts)
}

// LoadDir loads a bundle directory the way every binary serves one: its own
// *_test.rego tests run and must pass (RunTests is forced), so that qm eval
// never decides with a bundle the webhook would refuse.
func LoadDir(ctx context.Context, dir string, opts Options) (*Bundle, error) {
	files, err := readFiles(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("loading policy bundle %s: %w", dir, err)
	}
	opts.RunTests = true
	b, err := LoadFiles(ctx, files, opts)
	if err != nil {
		return nil, fmt.Errorf("loading policy bundle %s: %w", dir, err)
	}
	return b, nil
}

// readFiles reads a bundle's files, following symbolic links.
func readFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > 16 {
			return fmt.Errorf("reading policy bundle: %s: directories nested too deep (a symlink loop?)", dir)
		}
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return fmt.Errorf("reading policy bundle: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := path.Join(dir, name)
			info, err := fs.Stat(fsys, p) // follows symlinks
			if err != nil {
				return fmt.Errorf("reading policy bundle: %w", err)
			}
			if info.IsDir() {
				if name == "testdata" {
					continue // samples for the Go contract tests, not data
				}
				if err := walk(p, depth+1); err != nil {
					return err
				}
				continue
			}
			switch path.Ext(name) {
			case ".rego", ".json", ".yaml", ".yml":
			default:
				continue
			}
			if info.Size() > MaxFileBytes {
				return fmt.Errorf("reading policy bundle: %s is larger than %d MiB", p, MaxFileBytes>>20)
			}
			raw, err := fs.ReadFile(fsys, p)
			if err != nil {
				return fmt.Errorf("reading policy bundle: %w", err)
			}
			files[p] = raw
		}
		return nil
	}
	if err := walk(".", 0); err != nil {
		return nil, err
	}
	return files, nil
}

// revisionOf hashes file names and contents in name order.
func revisionOf(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// LoadFiles compiles a bundle from file contents keyed by slash path.
func LoadFiles(ctx context.Context, files map[string][]byte, opts Options) (*Bundle, error) {
	b := &Bundle{revision: revisionOf(files), modules: map[string]*ast.Module{}, tests: map[string]*ast.Module{}}
	config := map[string]any{}
	sources := map[string]string{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := files[name]
		if path.Ext(name) == ".rego" {
			m, err := ast.ParseModuleWithOpts(name, string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", name, err)
			}
			if strings.HasSuffix(name, "_test.rego") {
				b.tests[name] = m
			} else {
				b.modules[name] = m
			}
			continue
		}
		key := strings.TrimSuffix(path.Base(name), path.Ext(name))
		if key == "regions" {
			return nil, fmt.Errorf("data file %s: data.config.regions is reserved for the catalog's region table; remove the file", name)
		}
		if prev, dup := sources[key]; dup {
			return nil, fmt.Errorf("data files %s and %s both define data.config.%s", prev, name, key)
		}
		v, err := parseData(name, raw)
		if err != nil {
			return nil, err
		}
		sources[key] = name
		config[key] = v
	}
	if len(b.modules) == 0 {
		return nil, fmt.Errorf("policy bundle has no .rego policy files")
	}
	regions := opts.Regions
	if regions == nil {
		regions = costing.DefaultRegions()
	}
	config["regions"] = regionData(regions)
	b.data = map[string]any{"config": config}
	var err error
	if b.modes, err = readModes(config["enforcement"]); err != nil {
		return nil, err
	}
	if b.exempt, err = readExemptions(config["exemptions"]); err != nil {
		return nil, err
	}
	// Tests first: a bundle they reject is never prepared.
	if opts.RunTests && len(b.tests) > 0 {
		rep, err := b.runTests(ctx, false)
		if err != nil {
			return nil, err
		}
		if failed := rep.Failed(); len(failed) > 0 {
			return nil, fmt.Errorf("policy bundle %s fails its own tests: %s", b.revision, strings.Join(failed, ", "))
		}
	}
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// parseData decodes a JSON or YAML data file into a JSON-shaped object.
func parseData(name string, raw []byte) (map[string]any, error) {
	js := raw
	if path.Ext(name) != ".json" {
		var err error
		if js, err = yaml.YAMLToJSON(raw); err != nil {
			return nil, fmt.Errorf("data file %s: %w", name, err)
		}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data file %s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("data file %s: more than one document", name)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data file %s: want an object at the top level, got %s", name, typeName(v))
	}
	return m, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// regionData shapes the region table for Rego:
// data.config.regions[cloud][region] = {jurisdiction, location}.
func regionData(r *costing.Regions) map[string]any {
	out := map[string]any{}
	for _, row := range r.All() {
		c, ok := out[row.Cloud].(map[string]any)
		if !ok {
			c = map[string]any{}
			out[row.Cloud] = c
		}
		c[row.Region] = map[string]any{"jurisdiction": row.Jurisdiction, "location": row.Location}
	}
	return out
}

// compile builds one compiler over the policy modules (and tests, if asked).
func (b *Bundle) compile(withTests bool, strict bool) (*ast.Compiler, map[string]*ast.Module, error) {
	mods := make(map[string]*ast.Module, len(b.modules)+len(b.tests))
	for k, m := range b.modules {
		mods[k] = m.Copy()
	}
	if withTests {
		for k, m := range b.tests {
			mods[k] = m.Copy()
		}
	}
	c := ast.NewCompiler().WithStrict(strict).WithEnablePrintStatements(withTests)
	if c.Compile(mods); c.Failed() {
		return nil, nil, fmt.Errorf("compiling policy bundle: %w", c.Errors)
	}
	return c, mods, nil
}

// store holds the bundle's data as AST values: the default store keeps Go
// values and converts whatever a rule reads on every read, that is on every
// request.
func (b *Bundle) store() storage.Store {
	return inmem.NewFromObjectWithOpts(b.data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
}

// prepare finds the contract rules of every evaluated package and prepares
// one query per phase.
func (b *Bundle) prepare(ctx context.Context) error {
	compiler, mods, err := b.compile(false, false)
	if err != nil {
		return err
	}
	store := b.store()
	// The request queries run over the modules with their input-free rules
	// folded into constants (see fold.go), compiled here, once per bundle.
	if folded, n, err := fold(ctx, compiler, store, b.modules); err != nil {
		return err
	} else if n > 0 {
		c := ast.NewCompiler().WithEnablePrintStatements(false)
		if c.Compile(folded); !c.Failed() {
			compiler, b.folded = c, n
		}
	}
	b.fields = readInputFields(compiler.Modules)
	type pkgInfo struct {
		rules          map[string]bool
		needsPlacement bool
	}
	pkgs := map[string]*pkgInfo{}
	audit := map[string]map[string]bool{} // audit package → its deny/warn rules
	for _, m := range mods {
		p := m.Package.Path
		if p.HasPrefix(auditPackage) && len(p) > len(auditPackage) {
			key := strings.TrimPrefix(p.String(), "data.")
			if audit[key] == nil {
				audit[key] = map[string]bool{}
			}
			for _, r := range m.Rules {
				switch name := r.Head.Name.String(); name {
				case ruleDeny, ruleWarn:
					if r.Head.RuleKind() != ast.MultiValue {
						return fmt.Errorf("package %s: rule %s must be a set (%s contains {...} if ...)", key, name, name)
					}
					audit[key][name] = true
				case ruleRestrict, ruleRequire:
					return fmt.Errorf("package %s: %s: audit packages judge what exists; they deny or warn, they do not restrict placement", key, name)
				}
			}
			continue
		}
		if !p.HasPrefix(rootPackage) || len(p) == len(rootPackage) {
			continue
		}
		key := strings.TrimPrefix(p.String(), "data.")
		info := pkgs[key]
		if info == nil {
			info = &pkgInfo{rules: map[string]bool{}}
			pkgs[key] = info
		}
		for _, r := range m.Rules {
			switch name := r.Head.Name.String(); name {
			case ruleDeny, ruleWarn, ruleRestrict, ruleRequire:
				if r.Head.RuleKind() != ast.MultiValue {
					return fmt.Errorf("package %s: rule %s must be a set (%s contains {...} if ...)", key, name, name)
				}
				info.rules[name] = true
			}
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(placementRef) {
				info.needsPlacement = true
			}
			return false
		})
	}
	var s1, s2 []slot
	keys := make([]string, 0, len(pkgs))
	for k := range pkgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		info := pkgs[k]
		for _, name := range []string{ruleDeny, ruleWarn, ruleRestrict, ruleRequire} {
			if !info.rules[name] {
				continue
			}
			s := slot{pkg: k, name: name, short: strings.TrimPrefix(k, "quartermaster.")}
			if info.needsPlacement && (name == ruleDeny || name == ruleWarn) {
				s.v = fmt.Sprintf("p2_%d", len(s2))
				s2 = append(s2, s)
			} else {
				s.v = fmt.Sprintf("p1_%d", len(s1))
				s1 = append(s1, s)
			}
		}
	}
	if len(s1) == 0 && len(s2) == 0 {
		return fmt.Errorf("policy bundle defines no deny, warn, restrict or require rule in a quartermaster.* package")
	}
	if b.phase1, err = prepareSlots(ctx, compiler, store, s1); err != nil {
		return err
	}
	if b.phase2, err = prepareSlots(ctx, compiler, store, s2); err != nil {
		return err
	}
	var sa []slot
	for _, k := range slices.Sorted(maps.Keys(audit)) {
		for _, name := range []string{ruleDeny, ruleWarn} {
			if audit[k][name] {
				sa = append(sa, slot{pkg: k, name: name, short: strings.TrimPrefix(k, "quartermaster."), v: fmt.Sprintf("a_%d", len(sa))})
			}
		}
	}
	if b.audit, err = prepareSlots(ctx, compiler, store, sa); err != nil {
		return err
	}
	b.auditGate = readAuditGate(compiler.Modules)
	return nil
}

func prepareSlots(ctx context.Context, compiler *ast.Compiler, store storage.Store, slots []slot) (*preparedQuery, error) {
	if len(slots) == 0 {
		return nil, nil
	}
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = s.v + " = data." + s.pkg + "." + s.name
	}
	body, err := ast.ParseBodyWithOpts(strings.Join(parts, "; "), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("preparing policy query: %w", err)
	}
	qc := compiler.QueryCompiler()
	compiled, err := qc.Compile(body)
	if err != nil {
		return nil, fmt.Errorf("preparing policy query: %w", err)
	}
	compilations.Add(1)
	return &preparedQuery{body: compiled, queryCompiler: qc, compiler: compiler, store: store, slots: slots}, nil
}

// ReadFiles reads a bundle's files from fsys as Load does, for callers that
// also want to lint them (qm test).
func ReadFiles(fsys fs.FS) (map[string][]byte, error) { return readFiles(fsys) }
