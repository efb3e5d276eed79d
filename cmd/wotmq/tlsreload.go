package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// certCheckInterval is how often the TLS certificate files are looked at
// for a renewal, at most: on the first handshake after it passes.
const certCheckInterval = 10 * time.Second

// certFiles serves the certificate and key of --tls-cert and --tls-key,
// read again when either file changes: a renewed certificate (certbot,
// an ACME client, a copy from the CA) takes effect for new connections
// within certCheckInterval, with no restart. A renewal that cannot be
// read (a key that does not match, a half-written file) is logged and
// the previous certificate kept.
type certFiles struct {
	cert, key string
	interval  time.Duration
	log       zerolog.Logger

	mu       sync.Mutex
	cur      *tls.Certificate
	mtime    [2]time.Time // of cert and key when cur was read
	checked  time.Time
	badMtime [2]time.Time // of the files last found unreadable (logged once)
}

func newCertFiles(cert, key string, interval time.Duration, log zerolog.Logger) (*certFiles, error) {
	c := &certFiles{cert: cert, key: key, interval: interval, log: log}
	m, err := c.mtimes()
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	c.cur, c.mtime, c.checked = &pair, m, time.Now()
	return c, nil
}

func (c *certFiles) mtimes() ([2]time.Time, error) {
	var m [2]time.Time
	for i, f := range []string{c.cert, c.key} {
		fi, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m[i] = fi.ModTime()
	}
	return m, nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < c.interval {
		return c.cur, nil
	}
	c.checked = now
	m, err := c.mtimes()
	if err != nil || m == c.mtime || m == c.badMtime {
		return c.cur, nil
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		c.badMtime = m
		c.log.Warn().Err(err).Str("cert", c.cert).Str("key", c.key).Msg("the TLS certificate files changed but cannot be read; serving the previous certificate")
		return c.cur, nil
	}
	c.cur, c.mtime = &pair, m
	ev := c.log.Info().Str("cert", c.cert)
	if pair.Leaf != nil {
		ev = ev.Time("not_after", pair.Leaf.NotAfter)
	}
	ev.Msg("TLS certificate renewed")
	return c.cur, nil
}
