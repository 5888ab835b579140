// Package costing owns what GPU capacity costs: the offer catalog (contract 4.4
// of DESIGN.md), its readers (the project's CSV and SkyPilot's vms.csv), the
// embedded default catalog written from public list prices, the region to
// jurisdiction table shared with the policies, the names a catalog knows
// (Names, against which every file and flag is checked), the Restrictions
// that narrow which offers a workload may use (policy produces them, the
// placer applies them), and cost arithmetic.
//
// Refreshing prices from the clouds' APIs lives in internal/pricing, which
// only qm links, so that the cloud SDKs stay out of the webhook; costing
// gives it the per-row source column (Offer.Source, SourceColumn) and
// KnownGPUModel, with which a refresher reports a GPU name it cannot map
// instead of guessing.
//
// It sits at the bottom of the import graph: placement, policy and admission
// import costing, costing imports none of them. A Catalog is immutable once
// built, so it is safe to share between goroutines and to swap atomically on
// refresh.
package costing
