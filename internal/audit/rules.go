package audit

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// rulePool evaluates the audit rules on the stream's resources on every
// core: the rules are the run's main cost (a Rego evaluation per
// resource), each resource is judged alone, and a compiled bundle is safe
// for concurrent use. The stream is read, indexed and re-judged by
// admission on the caller's goroutine, in order.
type rulePool struct {
	jobs     chan *inventory.Resource
	wg       sync.WaitGroup
	mu       sync.Mutex
	findings []Finding
	failed   []string
	err      error
}

// startRules starts the pool; without rules it takes nothing.
func (a *Auditor) startRules(ctx context.Context) *rulePool {
	p := &rulePool{}
	if a.Rules == nil {
		return p
	}
	p.jobs = make(chan *inventory.Resource, 512)
	for range runtime.GOMAXPROCS(0) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var local []Finding
			for r := range p.jobs {
				fs, err := a.Rules.Audit(ctx, r)
				if err != nil {
					p.mu.Lock()
					if policy.IsEvalError(err) {
						p.failed = append(p.failed, fmt.Sprintf("%s %s: %v", r.Kind, r.ID, err))
					} else if p.err == nil {
						p.err = err
					}
					p.mu.Unlock()
					continue
				}
				for _, f := range fs {
					nf := newFinding(r, CategoryCompliance, f.Severity, f.Code, f.Policy, f.Msg)
					nf.Remediation = f.Remediation
					local = append(local, nf)
				}
			}
			p.mu.Lock()
			p.findings = append(p.findings, local...)
			p.mu.Unlock()
		}()
	}
	return p
}

// submit hands a resource to the pool.
func (p *rulePool) submit(r *inventory.Resource) {
	if p.jobs != nil {
		p.jobs <- r
	}
}

// wait ends the pool and returns what it found, what it could not judge,
// and a fault that is not a policy evaluation error.
func (p *rulePool) wait() ([]Finding, []string, error) {
	if p.jobs != nil {
		close(p.jobs)
		p.wg.Wait()
	}
	return p.findings, p.failed, p.err
}
