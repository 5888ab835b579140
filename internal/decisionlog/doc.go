// Package decisionlog writes and verifies the webhook's decision log: one
// JSON line per admission decision, hash-chained so that an edited, inserted
// or deleted line is found.
//
// Each line carries "prev", the SHA-256 of the previous line's bytes, and
// ends with "sum", the SHA-256 of the line itself without its sum field. An
// edited line breaks its own sum; a line replaced together with a recomputed
// sum breaks the next line's prev; a deleted or inserted line breaks prev
// and seq. Only rewriting every later line evades the check, which is why
// operators ship the log (or at least its latest sum) off the node.
//
// Writer sits beside the admission handler: Record hands an entry to a
// bounded queue and returns; one goroutine encodes, hashes and writes. A full
// queue blocks the caller (counted) rather than dropping a line, so the log
// is complete by construction and the request path does no I/O while the
// disk keeps up.
package decisionlog
