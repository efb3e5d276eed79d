package feed

import (
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/twin"
)

// TestFeedOrderAndDrops runs the feed with a handler held up: the items
// come out in order, droppable ones beyond the limit are dropped and the others
// kept, and Close ends the goroutine.
func TestFeedOrderAndDrops(t *testing.T) {
	release, holding := make(chan struct{}), make(chan struct{})
	var got []string
	done := make(chan struct{})
	f := New(nil, zerolog.Nop(), func(it Item) {
		if it.Message.Topic == "hold" {
			close(holding)
			<-release
			return
		}
		got = append(got, it.Message.Topic)
		if it.Message.Topic == "last" {
			close(done)
		}
	})
	const limit = 100
	f.mu.Lock()
	f.limit = limit
	f.mu.Unlock()
	f.Push(Item{Message: twin.Message{Topic: "hold"}})
	<-holding // the queue is empty, the handler busy
	for i := range limit + 10 {
		f.put(Item{Message: twin.Message{Topic: strconv.Itoa(i)}}, true)
	}
	f.put(Item{Message: twin.Message{Topic: "kept"}}, false)
	f.Push(Item{Message: twin.Message{Topic: "last"}})
	close(release)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the feed never handled the last item")
	}
	if n := len(got); n != limit+2 {
		t.Fatalf("handled %d items, want the limit and the two kept", n)
	}
	for i, topic := range got[:len(got)-2] {
		if topic != strconv.Itoa(i) {
			t.Fatalf("item %d is %s: out of order", i, topic)
		}
	}
	if got[len(got)-2] != "kept" || got[len(got)-1] != "last" {
		t.Errorf("the items that are never dropped: %v", got[len(got)-2:])
	}
	f.Close()
	f.Close()
	f.Push(Item{Message: twin.Message{Topic: "after"}}) // ignored
}
