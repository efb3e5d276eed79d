//go:build !unix

package hub

func cpuSeconds() (float64, bool) { return 0, false }

func maxFDs() (uint64, bool) { return 0, false }
