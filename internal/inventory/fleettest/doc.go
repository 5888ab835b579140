// Package fleettest is the clouds as the inventory adapters see them, for
// tests and benchmarks: httptest servers speaking each API's own wire
// format (AWS query, JSON 1.1 and REST XML; ARM JSON through the Azure
// SDK's own fake servers; Google's REST JSON), so that the real SDK clients
// sign, page, retry and decode exactly as against the clouds. The adapters'
// own tests use them for one account at a time; the fleet benchmark
// (make bench) builds a fleet of many accounts over the three clouds from
// them, with a share of the calls throttled. SameResources compares what
// an adapter emitted with what a test wants, line by line as a snapshot
// stores them.
//
// It is test support: nothing but _test.go files import it.
package fleettest
