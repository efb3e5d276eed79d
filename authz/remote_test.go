package authz

import "testing"

func TestRemoteHostAndLoopback(t *testing.T) {
	for _, c := range []struct {
		remote, host string
		loopback     bool
	}{
		{"127.0.0.1:5000", "127.0.0.1", true},
		{"127.8.9.10:1", "127.8.9.10", true},
		{"[::1]:1883", "::1", true},
		{"192.168.1.4:1883", "192.168.1.4", false},
		{"[fe80::1]:80", "fe80::1", false},
		{"localhost:80", "localhost", false}, // a name, whatever it resolves to
		{"127.0.0.1", "127.0.0.1", true},     // no port
		{"", "", false},
	} {
		host := RemoteHost(c.remote)
		if host != c.host || IsLoopback(host) != c.loopback {
			t.Errorf("%q: host %q loopback %v, want %q %v", c.remote, host, IsLoopback(host), c.host, c.loopback)
		}
	}
}
