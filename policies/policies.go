// Package policies embeds the default policy library (policies/rego): the
// Rego packages quartermaster.encryption, .residency, .access and .budget
// for admission, quartermaster.audit.* for the auditor, their tests and
// their data. `qm eval` and the webhook load it when no
// policy directory is given; a directory with the same layout replaces it
// without a rebuild.
package policies

import (
	"embed"
	"io/fs"
)

//go:embed rego
var files embed.FS

// FS returns the library rooted at the rego directory.
func FS() fs.FS {
	sub, err := fs.Sub(files, "rego")
	if err != nil {
		panic(err) // the embed directive guarantees the directory exists
	}
	return sub
}
