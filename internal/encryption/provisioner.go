package encryption

import (
	"strconv"
	"strings"
)

// classEvidence reads a StorageClass's encryption from its provisioner's
// parameters. The in-tree provisioners take the same parameters as their CSI
// successors, so both names are handled alike.
func classEvidence(sc *StorageClass, v *VolumeEvidence) {
	v.StorageClass = sc.Name
	v.Provisioner = sc.Provisioner
	p := sc.Parameters
	switch sc.Provisioner {
	case "ebs.csi.aws.com", "kubernetes.io/aws-ebs":
		// EBS volumes are unencrypted unless asked for (or unless the
		// account enables encryption by default, which the cluster cannot
		// see: we do not count on it).
		enc, err := strconv.ParseBool(strings.TrimSpace(p["encrypted"]))
		switch {
		case p["encrypted"] == "":
			v.State, v.Detail = StateUnencrypted, "StorageClass "+sc.Name+" ("+sc.Provisioner+") does not set encrypted: \"true\""
		case err != nil:
			v.State, v.Detail = StateUnknown, "StorageClass "+sc.Name+" has encrypted: "+strconv.Quote(p["encrypted"])+", not a boolean"
		case !enc:
			v.State, v.Detail = StateUnencrypted, "StorageClass "+sc.Name+" sets encrypted: \"false\""
		case p["kmsKeyId"] != "":
			v.State, v.KeyKind, v.KeyID = StateEncrypted, KeyCustomerManaged, p["kmsKeyId"]
			v.Detail = "EBS encrypted with KMS key " + p["kmsKeyId"]
		default:
			v.State, v.KeyKind = StateEncrypted, KeyProviderManaged
			v.Detail = "EBS encrypted with the AWS-managed key (no kmsKeyId)"
		}
	case "pd.csi.storage.gke.io", "kubernetes.io/gce-pd":
		// Persistent disks are always encrypted; the parameter selects a
		// customer-managed Cloud KMS key.
		v.State = StateEncrypted
		if k := p["disk-encryption-kms-key"]; k != "" {
			v.KeyKind, v.KeyID, v.Detail = KeyCustomerManaged, k, "persistent disk encrypted with Cloud KMS key "+k
		} else {
			v.KeyKind, v.Detail = KeyProviderManaged, "persistent disk encrypted with a Google-managed key (no disk-encryption-kms-key)"
		}
	case "disk.csi.azure.com", "kubernetes.io/azure-disk":
		// Managed disks are always encrypted at rest; a disk encryption set
		// brings the customer's key.
		v.State = StateEncrypted
		if k := p["diskEncryptionSetID"]; k != "" {
			v.KeyKind, v.KeyID, v.Detail = KeyCustomerManaged, k, "managed disk encrypted with disk encryption set "+k
		} else {
			v.KeyKind, v.Detail = KeyProviderManaged, "managed disk encrypted with a platform-managed key (no diskEncryptionSetID)"
		}
	default:
		v.State, v.Detail = StateUnknown, "provisioner "+sc.Provisioner+" of StorageClass "+sc.Name+" is not one whose encryption parameters are known"
	}
}
