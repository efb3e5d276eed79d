//go:build unix

package hub

import (
	"io/fs"
	"syscall"
)

// allocated is the disk space a file takes (a sparse file takes less than
// its size).
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
