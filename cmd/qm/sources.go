package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/engine"
)

// placing is what every placing command binds: the engine's config (the
// flags the webhook has too, bound by the engine so that they read the same)
// and the requesting user, qm's stand-in for an AdmissionReview's userInfo.
type placing struct {
	cfg    engine.Config
	user   string
	groups []string
}

// newPlacing returns the engine flags with their defaults.
func newPlacing() placing { return placing{cfg: engine.NewConfig()} }

// addSourceFlags binds the catalog, quota, usage and workload-rules flags.
func (p *placing) addSourceFlags(fs *pflag.FlagSet) { p.cfg.Sources.AddFlags(fs) }

// addPolicyFlags binds the policy bundle and the offline stand-ins for what
// the webhook reads from the cluster and the request: cluster state, dataset
// inventory, user.
func (p *placing) addPolicyFlags(fs *pflag.FlagSet) {
	p.cfg.Policies.AddFlags(fs)
	p.cfg.Facts.AddFlags(fs)
	// Offline only: the webhook always judges, a policy author sometimes
	// wants to see placement alone.
	fs.BoolVar(&p.cfg.Policies.None, "no-policies", false, "evaluate no policy: placement only")
	fs.StringVar(&p.user, "user", "", "the requesting user, as the webhook would see it")
	fs.StringSliceVar(&p.groups, "group", nil, "the requesting user's groups (repeatable)")
}

// load builds the engine from the flags: every file error is the user's
// (exit 1), named with its flag.
func (p *placing) load(ctx context.Context) (*engine.Engine, error) {
	e, err := engine.New(ctx, p.cfg, engine.Deps{})
	if err != nil {
		return nil, &exitError{exitInput, err}
	}
	return e, nil
}

// loadPrices builds the engine without policies, for the commands that only
// read the catalog and quotas (size, catalog list and nodes): compiling the
// policy library would cost them time for nothing.
func (p *placing) loadPrices(ctx context.Context) (*engine.Engine, error) {
	p.cfg.Policies.None = true
	return p.load(ctx)
}

// request is the user the policies judge, as the webhook takes it from the
// AdmissionReview.
func (p *placing) request() admission.RequestInfo {
	return admission.RequestInfo{Username: p.user, Groups: p.groups}
}
