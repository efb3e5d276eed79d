package explorer

import (
	"net/url"
	"testing"
	"time"
)

// FuzzExplorerInput: what the explorer reads from a page's URL (an
// instant, a Thing ID in a path segment) never panics, an instant it
// accepts reads back the same, and an ID escaped into a path comes back
// whole.
func FuzzExplorerInput(f *testing.F) {
	for _, s := range []string{"2026-12-07T10:00:00Z", "2026-12-07T10:00", "2026-12-07T10:00:00.123", "urn:dev:ops:lamp-1", "urn:x/y z%", "", "\x00\xff", "9999-99-99T99:99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if at, err := parseInstant(s); err == nil {
			again, err := parseInstant(at.Format(time.RFC3339Nano))
			if err != nil || !again.Equal(at) {
				t.Errorf("instant %q -> %v -> %v, %v", s, at, again, err)
			}
		}
		esc := pathEscape(s)
		if back, err := url.PathUnescape(esc); err != nil || back != s {
			t.Errorf("ID %q escaped %q came back %q, %v", s, esc, back, err)
		}
		for i := 0; i < len(esc); i++ {
			if esc[i] == '/' || esc[i] == '?' || esc[i] == '#' {
				t.Errorf("ID %q escaped %q has %q", s, esc, esc[i])
			}
		}
	})
}
