//go:build race

package splite2e

// raceEnabled builds the child processes with the race detector too.
const raceEnabled = true
