//go:build !race

package awsprice

const raceEnabled = false
