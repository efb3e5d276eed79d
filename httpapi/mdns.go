package httpapi

import (
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
	"github.com/rs/zerolog"
)

// DNS-SD names of the advertisement (WoT Discovery, "DNS-Based Service
// Discovery"): the service type of WoT Things and directories, and the
// subtype that marks a directory.
const (
	DNSSDService = "_wot._tcp"
	DNSSDSubtype = "_directory._sub._wot._tcp"
)

// advertisement is the hub's mDNS responder.
type advertisement struct{ srv *mdns.Server }

func (a *advertisement) stop() { a.srv.Shutdown() }

// advertise announces the HTTP API over multicast DNS: service _wot._tcp
// with subtype _directory, TXT td=/.well-known/wot, type=Directory and the
// URL scheme. A failure (a machine without multicast, say) is logged as a
// warning and leaves the hub running.
func (h *Server) advertise() *advertisement {
	a, err := h.newAdvertisement()
	if err != nil {
		h.log.Warn().Err(err).Msg("cannot advertise the hub over DNS-SD (mDNS); clients must be told its address")
		return nil
	}
	h.log.Info().Str("service", DNSSDService).Str("subtype", DNSSDSubtype).Str("interface", h.opts.MDNSInterface).Msg("advertised over DNS-SD")
	return a
}

func (h *Server) newAdvertisement() (*advertisement, error) {
	scheme, ln := "http", h.web.plain
	if h.web.secure != nil {
		scheme, ln = "https", h.web.secure
	}
	port, err := strconv.Atoi(portOf(ln.Addr().String(), ""))
	if err != nil {
		return nil, fmt.Errorf("broker: port of %s: %w", ln.Addr(), err)
	}
	var ifi *net.Interface
	if h.opts.MDNSInterface != "" {
		if ifi, err = net.InterfaceByName(h.opts.MDNSInterface); err != nil {
			return nil, fmt.Errorf("broker: mDNS interface: %w", err)
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "wotmq"
	}
	host, _, _ = strings.Cut(host, ".")
	ips, err := advertisedIPs(ifi)
	if err != nil {
		return nil, err
	}
	svc, err := mdns.NewMDNSService("wotmq on "+host, DNSSDService, "local.", host+".local.", port, ips,
		[]string{"td=" + wellKnownPath, "type=Directory", "scheme=" + scheme})
	if err != nil {
		return nil, fmt.Errorf("broker: DNS-SD record: %w", err)
	}
	srv, err := mdns.NewServer(&mdns.Config{
		Zone:   &subtypeZone{svc: svc, service: DNSSDService + ".local.", subtype: DNSSDSubtype + ".local."},
		Iface:  ifi,
		Logger: log.New(zerologWriter{h.log, zerolog.DebugLevel}, "", 0),
	})
	if err != nil {
		return nil, fmt.Errorf("broker: mDNS responder: %w", err)
	}
	return &advertisement{srv: srv}, nil
}

// advertisedIPs are the addresses in the A and AAAA records: those of the
// interface, or of every interface that is up and not loopback (loopback
// addresses only when there is nothing else).
func advertisedIPs(ifi *net.Interface) ([]net.IP, error) {
	ifaces := []net.Interface{}
	if ifi != nil {
		ifaces = append(ifaces, *ifi)
	} else {
		all, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("broker: network interfaces: %w", err)
		}
		ifaces = all
	}
	var ips, loop []net.IP
	for _, it := range ifaces {
		if it.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := it.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() && ipn.IP.To4() == nil {
				continue
			}
			if ipn.IP.IsLoopback() {
				loop = append(loop, ipn.IP)
			} else {
				ips = append(ips, ipn.IP)
			}
		}
	}
	if len(ips) == 0 {
		ips = loop
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("broker: no address to advertise")
	}
	return ips, nil
}

// subtypeZone answers queries for the _directory subtype as for the
// service (RFC 6763, section 7.1), which hashicorp/mdns does not know.
type subtypeZone struct {
	svc              *mdns.MDNSService
	service, subtype string
}

func (z *subtypeZone) Records(q dns.Question) []dns.RR {
	if !strings.EqualFold(q.Name, z.subtype) {
		return z.svc.Records(q)
	}
	q.Name = z.service
	rrs := z.svc.Records(q)
	for i, rr := range rrs {
		if ptr, ok := rr.(*dns.PTR); ok && strings.EqualFold(ptr.Hdr.Name, z.service) {
			c := *ptr
			c.Hdr.Name = z.subtype
			rrs[i] = &c
		}
	}
	return rrs
}
