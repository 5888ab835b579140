//go:build race

package awsprice

// raceEnabled scales the large offer file down under the race detector,
// which slows the decoder about tenfold.
const raceEnabled = true
