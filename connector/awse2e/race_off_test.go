//go:build !race

package awse2e

// raceEnabled builds the connector binary with the race detector too.
const raceEnabled = false
