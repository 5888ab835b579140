// Package decisionlog writes and verifies the webhook's decision log: one
// JSON line per admission decision, hash-chained so that an edited, inserted,
// deleted or reordered line is found, and the first wrong line is named.
//
// Each line carries "seq", its place in the chain, and "prev", the SHA-256 of
// the previous line's bytes, and ends with "sum", the SHA-256 of the line
// itself without its sum field. An edited line breaks its own sum; a line
// replaced together with a recomputed sum breaks the next line's prev; a
// deleted, inserted or moved line breaks seq. The chain starts at a genesis
// (seq 1, a prev of zeros) and every file after a rotation starts with a
// rotation header that records the previous file's last seq and hash, so a
// file read alone is anchored too and deleting its first lines is seen.
//
// Two things no file can show: a tail cut off, and a chain rewritten from
// some line to the end. Both are why the writer exports its head (seq and
// hash) as metrics and as a periodic log line: a witness that keeps an
// earlier head catches both with `qm log verify --witness`.
//
// Writer sits beside the admission handler: Record hands an entry to a
// bounded queue and returns; one goroutine encodes, hashes and writes. A full
// queue blocks the caller (counted) rather than dropping a line, so the log
// is complete by construction and the request path does no I/O while the
// disk keeps up.
package decisionlog
