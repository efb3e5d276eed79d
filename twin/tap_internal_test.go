package twin

import (
	"testing"

	"github.com/wotmq/wotmq/authz"
)

// TestTap: a tap hears the free-topic publishes its filter matches, with
// their sender, until it is removed.
func TestTap(t *testing.T) {
	c, _ := testCore(t, Options{}, "")
	var heard []string
	stop := c.Tap("stat/+/POWER", func(from authz.Identity, m Message) {
		heard = append(heard, from.ID+" "+m.Topic+" "+string(m.Payload))
	})
	dev := authz.Identity{ID: "plug1"}
	c.tapped(dev, &Message{Topic: "stat/plug1/POWER", Payload: []byte("ON")})
	c.tapped(dev, &Message{Topic: "tele/plug1/LWT", Payload: []byte("Online")})
	stop()
	c.tapped(dev, &Message{Topic: "stat/plug1/POWER", Payload: []byte("OFF")})
	if len(heard) != 1 || heard[0] != "plug1 stat/plug1/POWER ON" {
		t.Fatalf("heard %q, want only the first POWER publish", heard)
	}
}
