package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestCertificateRenewal: a renewed certificate is served without a
// restart; a renewal that cannot be read keeps the previous one.
func TestCertificateRenewal(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "hub.pem"), filepath.Join(dir, "hub.key")
	ca, caKey := newCert(t, "wotmq test CA", nil, nil, true)
	stamp := time.Now().Add(-time.Hour)
	issue := func() []byte {
		srv, key := newCert(t, "localhost", ca, caKey, false)
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}), 0o600)
		os.WriteFile(keyFile, pem.EncodeToMemory(keyBlock(t, key)), 0o600)
		stamp = stamp.Add(time.Minute) // a file system may keep coarse times
		os.Chtimes(certFile, stamp, stamp)
		os.Chtimes(keyFile, stamp, stamp)
		return srv.Raw
	}
	first := issue()
	logs := &lockedBuffer{}
	files, err := newCertFiles(certFile, keyFile, 0, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	served := func() []byte {
		c, err := files.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Certificate[0]
	}
	if string(served()) != string(first) {
		t.Fatal("not the certificate given")
	}
	second := issue()
	if string(served()) != string(second) {
		t.Error("the renewed certificate is not served")
	}
	if !strings.Contains(logs.String(), "TLS certificate renewed") {
		t.Errorf("log: %s", logs)
	}
	os.WriteFile(keyFile, []byte("half a key"), 0o600)
	stamp = stamp.Add(time.Minute)
	os.Chtimes(keyFile, stamp, stamp)
	for range 3 {
		if string(served()) != string(second) {
			t.Fatal("an unreadable renewal replaced the certificate")
		}
	}
	if n := strings.Count(logs.String(), "cannot be read"); n != 1 {
		t.Errorf("the unreadable renewal was logged %d times, want once:\n%s", n, logs)
	}
	if _, err := newCertFiles(certFile, keyFile, 0, zerolog.Nop()); err == nil {
		t.Error("a start with an unreadable key was accepted")
	}
}
