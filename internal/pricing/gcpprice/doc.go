// Package gcpprice prices GCP GPU machines for pricing.Refresh from the
// Cloud Billing Catalog API (Compute Engine, service 6F81-5844-456A) through
// google.golang.org/api/cloudbilling/v1.
//
// GCP prices a GPU machine in parts: its GPUs by the GPU SKU of the model,
// and its host by the core and RAM SKUs of its machine family (A2, A3, G2,
// whose GPUs are bundled, and N1, to which GPUs attach). The API has no
// machine shapes, so the shapes come from the embedded catalog, and a
// machine is priced as GPUs × GPU SKU + vCPUs × core SKU + GiB × RAM SKU,
// on demand (usage type OnDemand) and spot (Preemptible). A shape whose
// SKUs a region lacks is skipped and reported; GPU SKUs whose model the
// canonical table does not know are reported, not guessed.
//
// The API needs an API key or Application Default Credentials; the caller
// passes them as client options.
package gcpprice
