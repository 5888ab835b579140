package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

// newLogCommand is qm log verify: the decision log's hash chain checked
// offline, so that an auditor can show the log was not edited, and name the
// first line that was.
func newLogCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Work with the webhook's decision log",
	}
	var output, witness string
	var v decisionlog.Verifier
	verify := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Check the hash chain of a decision log and name the first tampered line",
		Long: `verify checks that every line of a decision log is intact (its own sum), in
sequence and linked to the line before it (its prev hash), and names the first line
that is wrong. Give rotated files oldest first, then the live file: the chain
continues across them. The first file must start at the genesis (sequence 1) or at
the rotation header the webhook writes at the top of every rotated-into file.

A file cannot show that lines were cut from its end. --witness SEQ:HASH checks the
log against a head the webhook exported earlier (the metrics
quartermaster_decision_log_head_sequence and _head_hash_prefix, or its periodic
"decision log head" log line): the chain must reach that sequence with that hash.

Files rotated by a webhook older than rotation headers start without one; read
alone, such a file looks exactly like a log whose first lines were deleted and is
reported, unless --allow-unanchored takes its first line on trust.

Exit codes: 0 intact, 1 usage or read error, 2 the chain is broken.`,
		Example: `  qm log verify /var/log/quartermaster/decisions.log
  qm log verify $(ls decisions.log.* | sort) decisions.log
  qm log verify --witness 48213:9f2c4e01a7b3d decisions.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			if witness != "" {
				h, err := decisionlog.ParseHead(witness)
				if err != nil {
					return &exitError{exitInput, fmt.Errorf("--witness: %w", err)}
				}
				v.Witness = &h
			}
			if output != "text" && output != "json" {
				return &exitError{exitInput, fmt.Errorf("output %q: want text or json", output)}
			}
			rep, err := v.Files(files)
			if err != nil {
				return &exitError{exitInput, err}
			}
			switch output {
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			case "text":
				if rep.Problem != nil {
					fmt.Fprintf(s.out, "TAMPERED %s line %d: %s\n", rep.Problem.File, rep.Problem.Line, rep.Problem.Msg)
				} else if rep.Lines == 0 {
					fmt.Fprintf(s.out, "OK 0 lines in %d files: empty\n", rep.Files)
				} else {
					fmt.Fprintf(s.out, "OK %d lines in %d files from %s at sequence %d; head sequence %d, last hash %s\n",
						rep.Lines, rep.Files, rep.Anchor, rep.FirstSeq, rep.LastSeq, rep.LastHash)
					if rep.Witness != "" {
						fmt.Fprintf(s.out, "witness %s\n", rep.Witness)
					}
				}
			}
			if rep.Problem != nil {
				return quiet{exitDenied}
			}
			return nil
		},
	}
	verify.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	verify.Flags().StringVar(&witness, "witness", "", "a head exported earlier, SEQ:HASH (HASH: the full hash or its first 13 or more hex digits): the log must reach it")
	verify.Flags().BoolVar(&v.AllowUnanchored, "allow-unanchored", false, "take a first line that is neither a genesis nor a rotation header on trust (files rotated before rotation headers)")
	cmd.AddCommand(verify)
	return cmd
}
