package hub_test

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"
	"golang.org/x/net/ipv4"

	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/hub"
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
	h := startHub(t, t.TempDir(), withHTTP, func(o *hub.Options) { o.MDNS, o.MDNSInterface = true, lo.Name })
	port := h.HTTPAddr()[strings.LastIndex(h.HTTPAddr(), ":")+1:]
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		srv, txt := browse(t, lo, httpapi.DNSSDSubtype+".local.", time.Second)
		if srv == nil || strconv.Itoa(int(srv.Port)) != port {
			continue
		}
		for _, want := range []string{"td=/.well-known/wot", "type=Directory", "scheme=http"} {
			if !slices.Contains(txt.Txt, want) {
				t.Errorf("TXT %v lacks %s", txt.Txt, want)
			}
		}
		if !strings.HasSuffix(srv.Hdr.Name, "._wot._tcp.local.") {
			t.Errorf("instance %q", srv.Hdr.Name)
		}
		return
	}
	t.Fatal("no DNS-SD answer for the hub's _directory._sub._wot._tcp within 15s")
}

// browse sends one DNS-SD query (PTR, unicast response asked) on the
// loopback interface only and returns the SRV and TXT records of the
// answer, if one comes within wait.
func browse(t *testing.T, lo *net.Interface, name string, wait time.Duration) (*dns.SRV, *dns.TXT) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetMulticastInterface(lo); err != nil {
		t.Skipf("cannot send multicast on %s: %v", lo.Name, err)
	}
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypePTR)
	q.RecursionDesired = false
	q.Question[0].Qclass |= 1 << 15 // QU: answer to this socket (RFC 6762, 5.4)
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo(b, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}); err != nil {
		t.Skipf("cannot send an mDNS query on %s: %v", lo.Name, err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 9000)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, nil
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil {
			continue
		}
		var srv *dns.SRV
		var txt *dns.TXT
		for _, rr := range append(m.Answer, m.Extra...) {
			switch r := rr.(type) {
			case *dns.SRV:
				srv = r
			case *dns.TXT:
				txt = r
			}
		}
		if srv != nil && txt != nil {
			return srv, txt
		}
	}
}

func TestDNSSDFailureOnlyWarns(t *testing.T) {
	logs := &lockedBuffer{}
	log := zerolog.New(logs).Level(zerolog.WarnLevel)
	h := startHub(t, t.TempDir(), withHTTP, func(o *hub.Options) {
		o.MDNS, o.MDNSInterface, o.Logger = true, "no-such-interface0", &log
	})
	newWeb(t, h).do("GET", "/.well-known/wot", nil).want(t, 200)
	if !strings.Contains(logs.String(), "cannot advertise the hub over DNS-SD") {
		t.Errorf("no warning in %s", logs.String())
	}
}
