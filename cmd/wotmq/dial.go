package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// dialWait bounds the first dial of a client command: a hub on the
// machine or its network answers a TCP connect within it, so a command
// with nothing to talk to says so at once instead of waiting --timeout.
const dialWait = 3 * time.Second

// errNoHub is what client commands fail with when nothing listens.
var errNoHub = errors.New("no hub answers")

// checkHub dials the hub's address once (TCP only, no MQTT) and closes
// the connection: an error naming the address when nothing answers.
func checkHub(ctx context.Context, broker string, timeout time.Duration) error {
	addr := hubAddr(broker)
	if addr == "" {
		return nil // a URL the client library will judge itself
	}
	d := net.Dialer{Timeout: min(timeout, dialWait)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var reason string
		var oe *net.OpError
		switch {
		case errors.As(err, &oe) && oe.Timeout():
			reason = fmt.Sprintf("no answer within %s", min(timeout, dialWait))
		case errors.As(err, &oe):
			reason = oe.Err.Error()
		default:
			reason = err.Error()
		}
		return fmt.Errorf("%w at %s (%s): is wotmq serve running there? Set the address with --broker or WOTMQ_BROKER", errNoHub, broker, reason)
	}
	return c.Close()
}

// hubAddr is the host:port a --broker value dials ("" when it cannot
// tell): host:port itself, or the host and port (or the scheme's port) of
// a URL.
func hubAddr(broker string) string {
	if !strings.Contains(broker, "://") {
		return broker
	}
	u, err := url.Parse(broker)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := map[string]string{"mqtt": "1883", "tcp": "1883", "mqtts": "8883", "ssl": "8883", "tls": "8883", "ws": "80", "wss": "443"}[u.Scheme]
	if port == "" {
		return ""
	}
	return net.JoinHostPort(u.Hostname(), port)
}
