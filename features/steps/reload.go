package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/reload"
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

// files are the scenario's catalog and quota files and their reloader.
type files struct {
	catalog, quota string
	reloader       *reload.Placement
	changed        bool
	err            error
}

func (w *world) reloader() (*reload.Placement, error) {
	if w.files == nil || w.files.catalog == "" {
		return nil, errors.New("the webhook reads no catalog file in this scenario")
	}
	if w.files.reloader != nil {
		return w.files.reloader, nil
	}
	parse, err := reload.CatalogParser("csv", "", w.files.catalog, costing.DefaultRegions())
	if err != nil {
		return nil, err
	}
	p, err := reload.New(reload.Options{CatalogPath: w.files.catalog, ParseCatalog: parse, QuotaPath: w.files.quota})
	if err != nil {
		return nil, err
	}
	w.files.reloader = p
	return p, nil
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

// check runs the reloader's check, as the webhook's watch loop does.
func (w *world) check() error {
	p, err := w.reloader()
	if err != nil {
		return err
	}
	w.files.changed, w.files.err = p.Check()
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
	if f == nil || f.reloader == nil {
		return errors.New("nothing was reloaded")
	}
	if !f.changed || f.err != nil {
		return fmt.Errorf("the reload put nothing new in service (changed=%v, err=%v)", f.changed, f.err)
	}
	return nil
}

func reloadRejected(ctx context.Context, text string) error {
	f := get(ctx).files
	if f == nil || f.reloader == nil {
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
