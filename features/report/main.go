// Command report turns the features' cucumber JSON (written by
// `go test ./features -args -godog.format=cucumber:FILE`) into one
// self-contained HTML page: every feature, its scenarios and their steps,
// with the result of each and the error of a failed step. No scripts, no
// fonts or styles from elsewhere: the page opens offline.
//
//	go run ./features/report -in bin/features.json -out bin/features.html
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"time"
)

// The subset of the cucumber JSON format godog writes that the page shows.
type feature struct {
	URI         string    `json:"uri"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Elements    []element `json:"elements"`
}

type element struct {
	Name    string `json:"name"`
	Keyword string `json:"keyword"`
	Line    int    `json:"line"`
	Tags    []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Steps []stepResult `json:"steps"`
}

type stepResult struct {
	Keyword string `json:"keyword"`
	Name    string `json:"name"`
	Line    int    `json:"line"`
	Result  struct {
		Status   string `json:"status"`
		Duration int64  `json:"duration"`
		Error    string `json:"error_message"`
	} `json:"result"`
	DocString *struct {
		Value string `json:"value"`
	} `json:"doc_string"`
	Rows []struct {
		Cells []string `json:"cells"`
	} `json:"rows"`
}

// status is the scenario's: failed if any step failed, else the first step
// that did not pass (undefined, pending, skipped), else passed.
func (e element) Status() string {
	status := "passed"
	for _, s := range e.Steps {
		switch s.Result.Status {
		case "passed":
		case "failed":
			return "failed"
		default:
			if status == "passed" {
				status = s.Result.Status
			}
		}
	}
	return status
}

func (f feature) Counts() map[string]int {
	c := map[string]int{}
	for _, e := range f.Elements {
		c[e.Status()]++
	}
	return c
}

// summary counts scenarios by status over every feature.
type summary struct {
	Features, Scenarios, Steps int
	ByStatus                   map[string]int
}

func summarise(fs []feature) summary {
	s := summary{Features: len(fs), ByStatus: map[string]int{}}
	for _, f := range fs {
		for _, e := range f.Elements {
			s.Scenarios++
			s.Steps += len(e.Steps)
			s.ByStatus[e.Status()]++
		}
	}
	return s
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"trim": strings.TrimSpace,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Quartermaster features</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d2330}
h1{margin-bottom:.2em} .meta{color:#667}
.summary span{display:inline-block;margin:.3em .6em .3em 0;padding:.2em .7em;border-radius:1em;background:#eef}
.passed{color:#17692f} .failed{color:#b3261e} .undefined,.pending,.skipped{color:#8a5a00}
.summary .passed{background:#dcf3e2} .summary .failed{background:#fbe0de}
details.feature{border:1px solid #d8dce6;border-radius:6px;margin:1em 0;padding:.4em .9em}
details.feature>summary{font-size:1.1em;font-weight:600;cursor:pointer}
.desc{white-space:pre-wrap;color:#445;margin:.4em 0 .8em}
.scenario{border-left:4px solid #17692f;margin:.8em 0;padding:.1em .8em}
.scenario.failed{border-color:#b3261e} .scenario.undefined,.scenario.pending,.scenario.skipped{border-color:#c98a00}
.scenario h3{font-size:1em;margin:.3em 0}
ol.steps{list-style:none;padding-left:.5em;margin:.2em 0}
.kw{font-weight:600;color:#3b4a6b}
.err{white-space:pre-wrap;background:#fbe0de;padding:.4em .6em;border-radius:4px;font-family:ui-monospace,monospace;font-size:.9em}
pre.doc{background:#f4f5f9;padding:.4em .6em;font-size:.85em;overflow-x:auto}
table.rows{border-collapse:collapse;font-size:.85em;margin:.2em 0 .2em 1.5em}
table.rows td{border:1px solid #d8dce6;padding:.1em .5em}
.line{color:#99a;font-size:.85em}
</style></head><body>
<h1>Quartermaster features</h1>
<p class="meta">{{.Source}} · generated {{.Generated}}</p>
<p class="summary"><span>{{.Summary.Features}} features</span><span>{{.Summary.Scenarios}} scenarios</span><span>{{.Summary.Steps}} steps</span>
{{range $k, $v := .Summary.ByStatus}}<span class="{{$k}}">{{$v}} {{$k}}</span>{{end}}</p>
{{range .Features}}{{$f := .}}
<details class="feature" {{if index .Counts "failed"}}open{{end}}>
<summary>{{.Name}} <span class="line">{{.URI}}</span> —
{{range $k, $v := .Counts}}<span class="{{$k}}">{{$v}} {{$k}}</span> {{end}}</summary>
{{with trim .Description}}<div class="desc">{{.}}</div>{{end}}
{{range .Elements}}<div class="scenario {{.Status}}">
<h3>{{.Keyword}}: {{.Name}} <span class="line">{{$f.URI}}:{{.Line}}</span>{{range .Tags}} <span class="line">{{.Name}}</span>{{end}}</h3>
<ol class="steps">{{range .Steps}}<li class="{{.Result.Status}}"><span class="kw">{{.Keyword}}</span>{{.Name}}
{{with .DocString}}<pre class="doc">{{.Value}}</pre>{{end}}
{{with .Rows}}<table class="rows">{{range .}}<tr>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
{{if ne .Result.Status "passed"}} <span class="{{.Result.Status}}">({{.Result.Status}})</span>{{end}}
{{with .Result.Error}}<div class="err">{{.}}</div>{{end}}</li>{{end}}</ol>
</div>{{end}}
</details>{{end}}
</body></html>
`))

func run(in, out string) (summary, error) {
	raw, err := os.ReadFile(in)
	if err != nil {
		return summary{}, err
	}
	var fs []feature
	if err := json.Unmarshal(raw, &fs); err != nil {
		return summary{}, fmt.Errorf("reading cucumber JSON %s: %w", in, err)
	}
	if len(fs) == 0 {
		return summary{}, fmt.Errorf("%s holds no features", in)
	}
	f, err := os.Create(out)
	if err != nil {
		return summary{}, err
	}
	if err := render(f, in, fs); err != nil {
		f.Close()
		return summary{}, err
	}
	return summarise(fs), f.Close()
}

func render(w io.Writer, source string, fs []feature) error {
	return page.Execute(w, map[string]any{
		"Source": source, "Generated": time.Now().UTC().Format(time.RFC3339),
		"Summary": summarise(fs), "Features": fs,
	})
}

func main() {
	in := flag.String("in", "bin/features.json", "cucumber JSON written by the features")
	out := flag.String("out", "bin/features.html", "HTML page to write")
	flag.Parse()
	s, err := run(*in, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Printf("report: %d features, %d scenarios %v → %s\n", s.Features, s.Scenarios, s.ByStatus, *out)
}
