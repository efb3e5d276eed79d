//go:build !unix

package loadtest

// RaiseFileLimit does nothing where there are no resource limits to raise.
func RaiseFileLimit() (uint64, error) { return 0, nil }
