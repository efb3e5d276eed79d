package broker_test

import (
	"context"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/broker"
)

// loopbackMulticast returns the loopback interface if multicast DNS works
// on it here; the test is skipped otherwise. The test advertises on
// loopback only, so no packet leaves the machine.
func loopbackMulticast(t *testing.T) *net.Interface {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Skipf("no network interfaces: %v", err)
	}
	for _, it := range ifaces {
		if it.Flags&net.FlagLoopback == 0 || it.Flags&net.FlagUp == 0 {
			continue
		}
		c, err := net.ListenMulticastUDP("udp4", &it, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353})
		if err != nil {
			t.Skipf("this machine cannot join the mDNS group on %s (%v): DNS-SD advertisement not tested", it.Name, err)
		}
		c.Close()
		return &it
	}
	t.Skip("no loopback interface that is up: DNS-SD advertisement not tested")
	return nil
}

func TestDNSSDAdvertisement(t *testing.T) {
	lo := loopbackMulticast(t)
	h := startHub(t, t.TempDir(), withHTTP, func(o *broker.Options) { o.MDNS, o.MDNSInterface = true, lo.Name })
	port := h.HTTPAddr()[strings.LastIndex(h.HTTPAddr(), ":")+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		entries := make(chan *mdns.ServiceEntry, 16)
		params := mdns.DefaultParams(broker.DNSSDSubtype)
		params.Interface, params.Entries, params.Timeout, params.DisableIPv6 = lo, entries, time.Second, true
		params.Logger = log.New(io.Discard, "", 0)
		go func() {
			_ = mdns.QueryContext(ctx, params)
			close(entries)
		}()
		for e := range entries {
			if strconv.Itoa(e.Port) != port {
				continue // another hub on this machine
			}
			for _, want := range []string{"td=/.well-known/wot", "type=Directory", "scheme=http"} {
				if !slices.Contains(e.InfoFields, want) {
					t.Errorf("TXT %v lacks %s", e.InfoFields, want)
				}
			}
			if !strings.Contains(e.Name, "_wot._tcp") {
				t.Errorf("instance %q", e.Name)
			}
			return
		}
	}
	t.Fatal("no DNS-SD answer for the hub's _directory._sub._wot._tcp within 15s")
}

func TestDNSSDFailureOnlyWarns(t *testing.T) {
	logs := &lockedBuffer{}
	log := zerolog.New(logs).Level(zerolog.WarnLevel)
	h := startHub(t, t.TempDir(), withHTTP, func(o *broker.Options) {
		o.MDNS, o.MDNSInterface, o.Logger = true, "no-such-interface0", &log
	})
	newWeb(t, h).do("GET", "/.well-known/wot", nil).want(t, 200)
	if !strings.Contains(logs.String(), "cannot advertise the hub over DNS-SD") {
		t.Errorf("no warning in %s", logs.String())
	}
}
