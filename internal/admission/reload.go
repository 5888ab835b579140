package admission

import (
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// SetPlacer puts p in service for the decisions that start after it
// returns; decisions under way finish with the placer they started with.
// The webhook calls it when the catalog or the quota file is reloaded
// (reload.Placement): the swap is one atomic store, so requests never wait
// for a reload and never see half of one. A nil p is ignored.
//
// The workload extractor and the evidence collector keep the region table
// they were built with: catalogs are read with that same table, so a
// reload changes offers and prices, never which jurisdiction a region is in.
func (e *Evaluator) SetPlacer(p *placement.Placer) {
	if p != nil {
		e.placer.Store(p)
	}
}

// Placer is the placer in service.
func (e *Evaluator) Placer() *placement.Placer { return e.placer.Load() }

// catalogRevision is the catalog revision a decision-log line records: the
// one that priced the decision, which a reload between pricing and
// recording must not misname, else the one in service.
func (h *Handler) catalogRevision(out *Outcome) string {
	if out != nil && out.CatalogRevision != "" {
		return out.CatalogRevision
	}
	return h.o.CatalogRevision()
}
