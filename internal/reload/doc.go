// Package reload keeps the file-backed inputs of a decision current without
// a restart: the offer catalog and the GPU quotas, which the Helm chart
// mounts from a ConfigMap.
//
// File is the generic part: it polls one file, parses a changed content
// fully, and swaps an atomic pointer only when the parse succeeds, so a
// broken or half-written file never replaces a working one. Polling instead
// of file notifications is deliberate: the kubelet updates a ConfigMap mount
// by renaming a new ..data symlink over the old one, which inotify watches on
// the file see inconsistently, while reading a file every few seconds and
// hashing it costs microseconds (certwatch and policy.Reloader poll for the
// same reason).
//
// Placement builds on two Files: it rebuilds the placer whenever the catalog
// or the quotas change and hands it to whoever serves decisions (the
// admission Evaluator's SetPlacer), with the catalog's age and revision as
// metrics.
package reload
