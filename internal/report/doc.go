// Package report writes what an audit run found for the people and the
// machines that read it (DESIGN §2, contract 4.6). Report is the one value
// every writer renders:
//
//   - report.json, the machine contract: WriteJSON and ReadJSON, with its
//     JSON Schema generated from the types (Schema, docs/report.schema.json);
//   - index.html, one self-contained file with charts drawn by the project
//     as inline SVG and a bounded, sortable findings table (WriteHTML, HTML);
//   - Prometheus metrics of the run, for node-exporter's textfile collector
//     or a Pushgateway (Registry, WriteMetrics, WriteMetricsFile,
//     PushMetrics);
//   - SARIF 2.1.0 for code-scanning consumers (WriteSARIF, SARIF);
//   - FailsOn, the decision behind the auditor's --fail-on;
//   - OpenReports resources for the Kubernetes findings.
//
// docs/auditor.md ("Reports") documents each output for its readers.
package report
