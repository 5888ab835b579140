package pricing

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// ConfigMapKey is the catalog's key in a catalog ConfigMap: the file name
// the chart mounts and the webhook's --catalog reads.
const ConfigMapKey = "catalog.csv"

// MaxConfigMapBytes is the most a ConfigMap can hold: the API server refuses
// an object over 1 MiB (etcd's request limit), so a larger catalog belongs
// in a file (a volume) rather than a ConfigMap.
const MaxConfigMapBytes = 1 << 20

// ConfigMapResult says what WriteConfigMap did.
type ConfigMapResult string

const (
	ConfigMapCreated   ConfigMapResult = "created"
	ConfigMapUpdated   ConfigMapResult = "updated"
	ConfigMapUnchanged ConfigMapResult = "unchanged"
)

// WriteConfigMap stores cat as CSV under ConfigMapKey in the ConfigMap
// namespace/name, for the webhook to pick up by its hot reload of the
// mounted file. A missing ConfigMap is created (which needs the create
// verb); an existing one has only that key replaced: its other keys, labels
// and annotations (Helm's among them) stay. A catalog identical to the
// stored one is not written again, so the mount does not change for
// nothing. A write that lost a race with another writer is retried on the
// new version. It needs get and update (or create) on the ConfigMap, and
// nothing else.
func WriteConfigMap(ctx context.Context, c corev1client.ConfigMapsGetter, namespace, name string, cat *costing.Catalog) (ConfigMapResult, error) {
	var buf bytes.Buffer
	if err := costing.WriteCSV(&buf, cat); err != nil {
		return "", err
	}
	if buf.Len() > MaxConfigMapBytes-4096 { // room for the object's metadata
		return "", fmt.Errorf("configmap %s/%s: the catalog is %d KiB, more than a ConfigMap holds (1 MiB): refresh fewer regions or clouds, or write a file with --out", namespace, name, buf.Len()>>10)
	}
	csv := buf.String()
	cms := c.ConfigMaps(namespace)
	var result ConfigMapResult
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
				Data:       map[string]string{ConfigMapKey: csv},
			}, metav1.CreateOptions{FieldManager: "qm-catalog-refresh"})
			result = ConfigMapCreated
			return err
		case err != nil:
			return err
		case cm.Data[ConfigMapKey] == csv:
			result = ConfigMapUnchanged
			return nil
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[ConfigMapKey] = csv
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "qm-catalog-refresh"})
		result = ConfigMapUpdated
		return err
	})
	if err != nil {
		return "", fmt.Errorf("writing the catalog into configmap %s/%s: %w", namespace, name, err)
	}
	return result, nil
}
