// Package chart tests the Helm chart charts/quartermaster by rendering it with
// the real helm binary (`helm template`) for the main value combinations and
// asserting on the rendered objects. The tests carry the build tag e2e because
// they need the helm that hack/tools.sh builds; `make e2e` runs them.
package chart
