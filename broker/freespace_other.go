//go:build !unix

package broker

import (
	"errors"
	"io/fs"
)

// freeSpace is not implemented here: the disk guard stays off.
func freeSpace(dir string) (uint64, error) {
	return 0, errors.New("broker: free disk space unknown on this system")
}

// allocated is the size of a file.
func allocated(fi fs.FileInfo) int64 { return fi.Size() }
