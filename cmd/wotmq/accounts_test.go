package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

const adminPW = "admin password 123"

// startSecure starts a hub that requires credentials, its admin account
// having adminPW.
func startSecure(t *testing.T, mod func(*Main)) *Main {
	t.Helper()
	m := &Main{LogOutput: &lockedBuffer{}, LogFormat: "json", Stdout: &lockedBuffer{}}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "off", t.TempDir()
	m.Options.TLSAddr, m.Options.WSSAddr = "off", "off"
	m.Options.HTTPAddr, m.Options.HTTPSAddr = "off", "off"
	m.Options.AdminPassword, m.Options.PasswordCost = adminPW, 4
	if mod != nil {
		mod(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestAccountsAndToken(t *testing.T) {
	m := startSecure(t, nil)
	hub := []string{"--broker", m.Hub.MQTTAddr()}
	as := func(user, pw string) []string { return append(hub, "--username", user, "--password", pw) }
	out, err := runCLI(t, append([]string{"accounts", "add", "lamp", "--role", "agent", "--name", "Lamp"}, as("admin", adminPW)...)...)
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	lampPW := strings.TrimSpace(out[strings.Index(out, "password: ")+len("password: "):])
	out, err = runCLI(t, append([]string{"accounts", "list"}, as("admin", adminPW)...)...)
	if err != nil || !strings.Contains(out, "lamp") || !strings.Contains(out, "agent") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := runCLI(t, append([]string{"accounts", "list"}, as("lamp", lampPW)...)...); err == nil || !strings.Contains(out+err.Error(), "denied") {
		t.Errorf("an agent listed accounts: %v %s", err, out)
	}
	out, err = runCLI(t, append([]string{"token", "--ttl", "1h"}, as("lamp", lampPW)...)...)
	if err != nil {
		t.Fatalf("token: %v\n%s", err, out)
	}
	tok := strings.Fields(out)[0]
	if _, err := runCLI(t, append([]string{"token"}, as("", tok)...)...); err != nil {
		t.Errorf("login with the token: %v", err)
	}
	if out, err := runCLI(t, append([]string{"accounts", "passwd", "--new-password", "lamp new password"}, as("lamp", lampPW)...)...); err != nil {
		t.Fatalf("passwd: %v %s", err, out)
	}
	if _, err := runCLI(t, append([]string{"token"}, as("", tok)...)...); err == nil {
		t.Error("token survived a password change")
	}
	if out, err := runCLI(t, append([]string{"accounts", "role", "lamp", "viewer"}, as("admin", adminPW)...)...); err != nil || !strings.Contains(out, "role viewer") {
		t.Errorf("role: %v %s", err, out)
	}
	if out, err := runCLI(t, append([]string{"accounts", "disable", "lamp"}, as("admin", adminPW)...)...); err != nil || !strings.Contains(out, "enabled false") {
		t.Errorf("disable: %v %s", err, out)
	}
	if out, err := runCLI(t, append([]string{"token"}, as("lamp", "lamp new password")...)...); err == nil || !strings.Contains(out+err.Error(), "disabled") {
		t.Errorf("disabled account logged in: %v %s", err, out)
	}
}

func TestFirstStartPrintsAdminPassword(t *testing.T) {
	out := &lockedBuffer{}
	m := &Main{LogOutput: &lockedBuffer{}, LogFormat: "json", Stdout: out}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.TLSAddr, m.Options.WSSAddr = "127.0.0.1:0", "off", "off", "off"
	m.Options.HTTPAddr, m.Options.HTTPSAddr = "off", "off"
	m.Options.DataDir = t.TempDir()
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pw := m.Hub.InitialAdminPassword()
	if pw == "" || !strings.Contains(out.String(), pw) {
		t.Fatalf("no password printed: %q", out.String())
	}
	logs := m.LogOutput.(*lockedBuffer).String()
	if strings.Contains(logs, pw) {
		t.Error("the admin password is in the log")
	}
	dir := m.Options.DataDir
	m.Close()
	m2 := &Main{LogOutput: &lockedBuffer{}, LogFormat: "json", Stdout: &lockedBuffer{}}
	m2.Options = m.Options
	m2.Options.DataDir = dir
	if err := m2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Hub.InitialAdminPassword() != "" {
		t.Error("second start made another admin password")
	}
	if _, err := runCLI(t, "accounts", "list", "--broker", m2.Hub.MQTTAddr(), "--username", "admin", "--password", pw); err != nil {
		t.Errorf("admin login with the printed password: %v", err)
	}
}

// TestTLSClientCertificate: MQTT over TLS, where a client certificate
// whose common name is an account logs in without a password.
func TestTLSClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, "wotmq test CA", nil, nil, true)
	srv, srvKey := newCert(t, "localhost", ca, caKey, false)
	cli, cliKey := newCert(t, "sensor-7", ca, caKey, false)
	write := func(name string, blocks ...*pem.Block) string {
		p := filepath.Join(dir, name)
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := startSecure(t, func(m *Main) {
		m.TLSCert = write("srv.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw})
		m.TLSKey = write("srv.key", keyBlock(t, srvKey))
		m.TLSClientCA = write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
		m.Options.TLSAddr = "127.0.0.1:0"
	})
	if _, err := runCLI(t, "accounts", "add", "sensor-7", "--role", "agent", "--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password", adminPW); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	dial := func(withCert bool) (*paho.Connack, error) {
		cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
		if withCert {
			cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}}
		}
		conn, err := tls.Dial("tcp", m.Hub.TLSAddr(), cfg)
		if err != nil {
			return nil, err
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ca, err := c.Connect(ctx, &paho.Connect{ClientID: "tls-" + randHex(3), CleanStart: true})
		if err == nil {
			c.Disconnect(&paho.Disconnect{})
		}
		return ca, err
	}
	if _, err := dial(true); err != nil {
		t.Errorf("certificate login: %v", err)
	}
	if ca, err := dial(false); err == nil || ca == nil || ca.ReasonCode != 0x87 {
		t.Errorf("TLS without certificate or password admitted: %v", err)
	}
}

func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: isCA, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func keyBlock(t *testing.T, k *ecdsa.PrivateKey) *pem.Block {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: b}
}
