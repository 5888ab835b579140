package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"
	"github.com/quartermaster-io/quartermaster/internal/engine"
)

// reloadSteps serve the catalog and quotas from files, as the webhook does
// with --catalog and --quota, and change the files under it: the reloader
// (internal/reload) puts a valid new version in service and keeps the old
// one when the new is rejected.
var reloadSteps = []step{
	{`^the webhook reads its catalog from a file with these offers:$`, catalogFile},
	{`^the webhook reads its quotas from a file allowing (\d+) "([^"]*)" GPUs in "([^"]*)" "([^"]*)"$`, quotaFile},
	{`^the catalog file is replaced with these offers:$`, replaceCatalog},
	{`^the catalog file is replaced with the text "(.*)"$`, replaceCatalogText},
	{`^the quota file is replaced to allow (\d+) "([^"]*)" GPUs in "([^"]*)" "([^"]*)"$`, replaceQuota},
	{`^the new version goes into service$`, reloadServes},
	{`^the reload is rejected saying "(.*)"$`, reloadRejected},
	{`^the decision log records the catalog revision in service$`, logRecordsRevision},
}

// files are the scenario's catalog and quota files and the engine that
// serves them.
type files struct {
	catalog, quota string
	engine         *engine.Engine
	changed        bool
	err            error
}

// reloader is the scenario's engine over its files: built once, so that
// the first version is in service before a file changes.
func (w *world) reloader() (*engine.Engine, error) {
	if w.files == nil || w.files.catalog == "" {
		return nil, errors.New("the webhook reads no catalog file in this scenario")
	}
	return w.engine()
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

func catalogFile(ctx context.Context, t *godog.Table) error {
	w := get(ctx)
	csv, err := catalogCSV(t)
	if err != nil {
		return err
	}
	if w.files == nil {
		w.files = &files{}
	}
	w.files.catalog = filepath.Join(w.dir, "catalog.csv")
	return writeFile(w.files.catalog, csv)
}

func quotaYAML(gpus int, model, cloud, region string) string {
	return fmt.Sprintf("quotas:\n  - {cloud: %s, region: %s, gpuModel: %s, gpus: %d}\n", cloud, region, model, gpus)
}

func quotaFile(ctx context.Context, gpus int, model, cloud, region string) error {
	w := get(ctx)
	if w.files == nil {
		w.files = &files{}
	}
	w.files.quota = filepath.Join(w.dir, "quota.yaml")
	return writeFile(w.files.quota, quotaYAML(gpus, model, cloud, region))
}

// check runs the engine's check, as its watch loop does every
// --catalog-reload-interval in the webhook.
func (w *world) check() error {
	e, err := w.reloader()
	if err != nil {
		return err
	}
	w.files.changed, w.files.err = e.Check(context.Background())
	return nil
}

func replaceCatalog(ctx context.Context, t *godog.Table) error {
	w := get(ctx)
	if _, err := w.reloader(); err != nil { // the first version is in service
		return err
	}
	csv, err := catalogCSV(t)
	if err != nil {
		return err
	}
	if err := writeFile(w.files.catalog, csv); err != nil {
		return err
	}
	return w.check()
}

func replaceCatalogText(ctx context.Context, text string) error {
	w := get(ctx)
	if _, err := w.reloader(); err != nil {
		return err
	}
	if err := writeFile(w.files.catalog, strings.ReplaceAll(unquote(text), `\n`, "\n")); err != nil {
		return err
	}
	return w.check()
}

func replaceQuota(ctx context.Context, gpus int, model, cloud, region string) error {
	w := get(ctx)
	if _, err := w.reloader(); err != nil {
		return err
	}
	if w.files.quota == "" {
		return errors.New("the webhook reads no quota file in this scenario")
	}
	if err := writeFile(w.files.quota, quotaYAML(gpus, model, cloud, region)); err != nil {
		return err
	}
	return w.check()
}

func reloadServes(ctx context.Context) error {
	f := get(ctx).files
	if f == nil || f.engine == nil {
		return errors.New("nothing was reloaded")
	}
	if !f.changed || f.err != nil {
		return fmt.Errorf("the reload put nothing new in service (changed=%v, err=%v)", f.changed, f.err)
	}
	return nil
}

func reloadRejected(ctx context.Context, text string) error {
	f := get(ctx).files
	if f == nil || f.engine == nil {
		return errors.New("nothing was reloaded")
	}
	if f.changed || f.err == nil || !strings.Contains(f.err.Error(), unquote(text)) {
		return fmt.Errorf("want the reload rejected saying %q, got changed=%v, err=%v", unquote(text), f.changed, f.err)
	}
	return nil
}

func logRecordsRevision(ctx context.Context) error {
	w := get(ctx)
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	p, err := w.reloader()
	if err != nil {
		return err
	}
	if r.entry == nil || r.entry.CatalogRevision != p.CatalogRevision() {
		return fmt.Errorf("the decision log entry %+v does not record the catalog revision in service %s", r.entry, p.CatalogRevision())
	}
	return nil
}
