package authz

import "net"

// The address rules every way in shares: a development hub admits clients
// on loopback without credentials (MQTT in broker, HTTP in httpapi, the
// explorer's pages), so all three read a remote address the same way.

// RemoteHost is the host of a remote address (host:port); the address
// itself when it has no port.
func RemoteHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// IsLoopback reports whether host is a loopback IP address (127.0.0.0/8,
// ::1). A name such as "localhost" is not: it is whatever the resolver
// says.
func IsLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
