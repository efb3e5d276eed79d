//go:build !unix

package hub

import "io/fs"

// allocated is the size of a file.
func allocated(fi fs.FileInfo) int64 { return fi.Size() }
