// Package pricing refreshes the offer catalog from the clouds' public price
// APIs (qm catalog refresh) and compares two catalogs (qm catalog diff).
//
// DESIGN.md gives costing the price sources and their refresh. The refresh
// lives beside costing rather than inside it because costing is at the bottom
// of the import graph and is linked into the webhook: the cloud SDKs the
// sources need (aws-sdk-go-v2's EC2 client, azcore, Google's API client) would
// otherwise be compiled into every binary and every test that prices an
// offer. So costing keeps what a catalog is (offers, canonical GPU names,
// regions, the CSV contract, now with a per-row source column) and this
// package, which only qm links, keeps how a catalog is refreshed:
//
//   - pricing: the Source interface each cloud implements, Refresh (runs the
//     sources concurrently, fills shapes the APIs do not carry from the
//     embedded catalog, drops what cannot be a valid offer and says why) and
//     Diff;
//   - pricing/awsprice: the Price List bulk offer files, streamed, with a
//     state file so that an unchanged region is not downloaded again, and
//     EC2 spot price history;
//   - pricing/azureprice: the Retail Prices API through azcore's pipeline;
//   - pricing/gcpprice: the Cloud Billing Catalog API, an instance priced as
//     the sum of its GPU, core and RAM SKUs.
//
// The adapters import this package for its Request and Result types; this
// package imports none of them: cmd/qm builds them from its flags and hands
// them to Refresh. Nothing here reads the environment.
package pricing
