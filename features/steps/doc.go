// Package steps implements the godog steps of the features in ../. Steps are
// declarative ("Given a GPU Job with 4 replicas of 8 H100 GPUs") and call the
// same constructors the binaries wire, so a feature exercises the product,
// not a double of it.
package steps
