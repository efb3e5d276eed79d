//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// sameOwner refuses to work on a data directory of another user as root:
// the files root would make there could not be read by the hub.
func sameOwner(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 || st.Uid == 0 {
		return nil
	}
	return fmt.Errorf("%s belongs to user %d, and this runs as root: the files it makes would be root's, which the hub cannot use; run it as the owner (sudo -u wotmq wotmq ...)", dir, st.Uid)
}
