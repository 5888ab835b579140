// Package azureprice prices Azure GPU virtual machines for pricing.Refresh
// from the Retail Prices API (prices.azure.com/api/retail/prices), which
// needs no credentials.
//
// The API has no Go SDK client, so requests go through azcore's HTTP
// pipeline (runtime.NewPipeline): its retry policy retries 429 and 5xx and
// honours Retry-After, which the Retail Prices API sends when it throttles
// (about a minute), instead of retries written here. One query per region
// (serviceName 'Virtual Machines', priceType 'Consumption'), pages followed
// through NextPageLink. Windows and Low Priority meters are dropped, Spot
// meters give the spot price, and meters are keyed by armRegionName and
// armSkuName. The API carries no shape (GPUs, vCPUs, memory), so only the
// sizes the embedded catalog lists are priced; other N-series sizes are
// reported as skipped.
package azureprice
