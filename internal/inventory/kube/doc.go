// Package kube is the auditor's Kubernetes source (DESIGN §2): an
// inventory.Scanner for accounts of cloud kubernetes, one account per
// kubeconfig context (or "in-cluster" for the pod's own cluster), each read
// through a controller-runtime client of its own.
//
// # What it emits, in order
//
//  1. Namespaces, with their labels (the team label of cost allocation).
//  2. Nodes: instance type and capacity type from the well-known labels of
//     the configured label profile (workload.LabelKeys; without one, the
//     first of the quartermaster, karpenter, eks, gke and aks conventions
//     whose capacity label the node carries), provider ID, allocatable GPUs
//     by resource name, readiness, region and zone
//     (topology.kubernetes.io/region and /zone).
//  3. Pods: phase, node, GPUs requested by resource name, owner (the top of
//     the owner chain: ReplicaSet → Deployment, Job → CronJob,
//     RayCluster → RayJob), team (the pod's quartermaster.io/team
//     annotation, else its namespace's label), claims, start time; region
//     and zone of their node.
//  4. VolumeClaims: each PersistentVolumeClaim joined with its volume
//     (size) and StorageClass (encryption, read by internal/encryption's
//     provisioner rules, the same admission uses), and the pods mounting it.
//  5. Workloads: the objects of every workload.Rule kind the cluster serves
//     (Deployments, StatefulSets, Jobs, CronJobs, PyTorchJobs, TFJobs,
//     MPIJobs, RayClusters, RayJobs, and the kinds of a rules file), found
//     through the REST mapper so that a CRD not installed is skipped; read
//     as unstructured objects with managed fields stripped, with their
//     quartermaster.io/decision annotation.
//  6. VolumeSnapshots (snapshot.storage.k8s.io), when the CRD is installed.
//
// Namespaces come before everything that lives in them, as the auditor
// needs. Pods come before the claims because a claim's MountedBy is joined
// from the pods: listing them first lets one pass over the pods both emit
// them and index their claims, where the other order would list every pod
// twice.
//
// # Memory and API load
//
// Every list is paginated (Config.PageSize, 500 by default, with the
// continue token), so a 100,000-pod cluster is 200 list calls and memory
// holds one page. Nothing else is cached but what a join needs: the
// namespaces' team labels, each node's region and zone, the controller of
// each ReplicaSet, Job and RayCluster (read metadata-only), the running
// pods of each mounted claim, and the bound volumes' size and class.
// Namespace and node records are held until the nodes are read (they are
// few and small), because the nodes say which cloud every record is in.
//
// # Cloud
//
// Every record of a cluster carries the cluster's cloud: aws, azure or gcp
// when the nodes' provider IDs (aws://, azure://, gce://) all name that one
// cloud, else kubernetes — a local or bare-metal cluster, or one whose
// nodes span clouds (the fake fleets of the e2e tests). Records are not
// given each node's own cloud: a pod or claim does not say which node's
// cloud holds it, and the auditor reads a node's cloud from its provider
// ID anyway.
//
// # Encryption
//
// A claim's class is its storageClassName, else its bound volume's, else
// the cluster's default class. The evidence's "unknown" (an unknown
// provisioner, a missing class, a pre-provisioned volume) is reported as
// not encrypted: nothing shows that it is, and a compliance check must not
// pass on it.
//
// # Wiring
//
// cmd/auditor makes one Scanner (NewScanner with the cluster's label
// profile, the workload rules it admits with, and its logger) and puts it
// in inventory.Runner.Scanners under inventory.CloudKube; the runner calls
// Scan once per kubernetes account. main should also hand controller-runtime
// its logger once (log.SetLogger(logr.FromSlogHandler(h))), or
// controller-runtime prints a warning with a stack trace 30 s after start.
//
// docs/inventory-kube.md lists the RBAC the auditor needs.
package kube
