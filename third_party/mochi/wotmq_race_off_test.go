//go:build !race

package mqtt

const wotmqRace = false
