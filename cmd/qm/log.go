package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

func newLogCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Work with the webhook's decision log",
	}
	var output string
	verify := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Check the hash chain of a decision log and name the first tampered line",
		Long: `verify checks that every line of a decision log is intact (its own sum) and
linked to the line before it (its prev hash). Give rotated files oldest first, then
the live file: the chain continues across them.

Exit codes: 0 intact, 1 usage or read error, 2 the chain is broken.`,
		Example: `  qm log verify /var/log/quartermaster/decisions.log
  qm log verify $(ls decisions.log.* | sort) decisions.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			rep, err := decisionlog.VerifyFiles(files)
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
				} else {
					fmt.Fprintf(s.out, "OK %d lines in %d files; last hash %s\n", rep.Lines, rep.Files, rep.LastHash)
				}
			default:
				return &exitError{exitInput, fmt.Errorf("output %q: want text or json", output)}
			}
			if rep.Problem != nil {
				return quiet{exitDenied}
			}
			return nil
		},
	}
	verify.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(verify)
	return cmd
}
