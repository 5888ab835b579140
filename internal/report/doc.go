// Package report writes what an audit run found for the people and the
// machines that read it (DESIGN §2, contract 4.6): report.json, the
// machine contract; a self-contained index.html with charts drawn by the
// project as inline SVG; OpenReports resources for the Kubernetes findings;
// and Prometheus metrics of the run. Report is the one value every writer
// renders.
package report
