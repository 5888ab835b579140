package policy

// GCPercent is the garbage collector target the webhook runs with (unless
// GOGC is set). An evaluation's garbage is all per request while the live
// heap (bundle, catalog, caches) is small, so at Go's default of 100 the
// collector runs every few dozen decisions and, on a two-core node, a
// good share of requests overlap a mark phase. Collecting at 4× the live
// heap instead of 2× costs a few MiB. BenchmarkEvaluateWebhookGC measures
// the library with it, BenchmarkEvaluate with Go's default.
const GCPercent = 400
