// Package prometheus is the inventory source of GPU utilisation: it asks a
// cluster's Prometheus for the DCGM exporter's metrics over a window and
// emits one GPUUsage resource per GPU and pod, which the auditor's waste
// checks read (a GPU held by a pod that barely uses it is idle money).
//
// Utilisation is DCGM_FI_PROF_GR_ENGINE_ACTIVE where the exporter has
// profiling metrics, because DCGM_FI_DEV_GPU_UTIL counts any kernel running
// as 100% however little of the GPU it occupies; the driver metric is the
// fallback for GPUs without profiling, and each record names its source.
// Memory in use is DCGM_FI_DEV_FB_USED. GPUs are keyed by the exporter's
// Hostname and UUID labels, pods by its pod and namespace labels (or
// exported_pod and exported_namespace when Prometheus renamed them).
//
// It uses the Prometheus HTTP API through client_golang's API client, so it
// works against Prometheus, Thanos or Mimir. Tests run a real Prometheus
// (Debian's package): scraping a DCGM-shaped exporter live, and over a day
// of DCGM history backfilled into its TSDB with promtool, whose daily means
// and peaks come back exactly.
package prometheus
