//go:build race

package mqtt

// wotmqRace: the race detector is on (sync.Pool then drops a share of
// what it is given, so allocation counts differ).
const wotmqRace = true
