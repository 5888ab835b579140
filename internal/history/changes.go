package history

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// CodeConfigDrift is the code of the drift finding for a compliance
// finding that appeared since the previous run.
const CodeConfigDrift = "config-drift"

// driftPolicy is the Policy of config-drift findings: the same Go check
// name as the audit's other drift findings.
const driftPolicy = "quartermaster.checks.drift"

// Compare lists what changed in the findings between the previous run and
// this one, by stable finding ID (audit.Finding.ID is a hash of the check
// and the resource): the IDs of cur's findings prev did not have, in cur's
// order, and prev's findings cur no longer has, in prev's order. It
// returns nil when prev is nil (no history yet). Config-drift findings
// themselves are left out on both sides: they describe a change, not a
// state.
func Compare(prev, cur *report.Report) *report.Changes {
	if prev == nil || cur == nil {
		return nil
	}
	before, now := ids(prev.Findings), ids(cur.Findings)
	c := &report.Changes{Previous: prev.Run.ID, New: []string{}, Resolved: []audit.Finding{}}
	for _, f := range cur.Findings {
		if f.Code != CodeConfigDrift && !before[f.ID] {
			c.New = append(c.New, f.ID)
		}
	}
	for _, f := range prev.Findings {
		if f.Code != CodeConfigDrift && !now[f.ID] {
			c.Resolved = append(c.Resolved, f)
		}
	}
	return c
}

// Changes returns the drift findings of the configuration changes since
// the previous run, to add to cur's findings: for each compliance finding
// of cur that prev did not have (encryption turned off, a bucket made
// public), a finding in category drift with code config-drift, the
// underlying finding's severity, resource and remediation, and the
// message "changed since the last run (<run ID>): <underlying message>".
// Its ID is stable: a hash of config-drift and the underlying finding's
// ID. Nil when prev is nil: a first run has nothing to compare with. The
// full lists of new and resolved findings of every category are Compare's.
func Changes(prev, cur *report.Report) []audit.Finding {
	if prev == nil || cur == nil {
		return nil
	}
	before := ids(prev.Findings)
	var out []audit.Finding
	for _, f := range cur.Findings {
		if f.Category != audit.CategoryCompliance || before[f.ID] {
			continue
		}
		sum := sha256.Sum256([]byte(CodeConfigDrift + "\x00" + f.ID))
		d := f
		d.ID = hex.EncodeToString(sum[:8])
		d.Category = audit.CategoryDrift
		d.Code = CodeConfigDrift
		d.Policy = driftPolicy
		d.Message = fmt.Sprintf("changed since the last run (%s): %s", prev.Run.ID, f.Message)
		out = append(out, d)
	}
	return out
}

func ids(fs []audit.Finding) map[string]bool {
	m := make(map[string]bool, len(fs))
	for _, f := range fs {
		m[f.ID] = true
	}
	return m
}
