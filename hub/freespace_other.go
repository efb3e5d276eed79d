//go:build !unix

package hub

import (
	"errors"
)

// freeSpace is not implemented here: the disk guard stays off.
func freeSpace(dir string) (uint64, error) {
	return 0, errors.New("hub: free disk space unknown on this system")
}
