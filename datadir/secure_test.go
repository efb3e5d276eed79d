package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestSecureWhileFilesGo: files that the store deletes while Secure walks
// the directory (a replayed memtable, a compacted table) are no error. The
// hub failed to restart after a kill -9 once with "lstat .../00002.mem: no
// such file" (reliability.TestCrashSafety).
func TestSecureWhileFilesGo(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.mem", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range n {
			_ = os.Remove(filepath.Join(dir, fmt.Sprintf("%05d.mem", i)))
		}
	}()
	walks := 0
	for running := true; running; walks++ {
		select {
		case <-done:
			running = false
		default:
		}
		if _, err := Secure(dir); err != nil {
			t.Fatalf("walk %d: %v", walks, err)
		}
	}
	wg.Wait()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != dirMode {
		t.Fatalf("directory %v %v", fi, err)
	}
}
