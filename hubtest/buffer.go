package hubtest

import (
	"bytes"
	"sync"
)

// Buffer collects what several goroutines write, such as a hub's log
// (Options.Logger) or a program's output, for the test to read while
// they write. Its zero value is empty and ready; its methods may be
// called concurrently.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
