package wot_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestReconnect stops the hub and starts another on the same address and
// data directory: both clients reconnect by themselves, the consumer's
// subscriptions deliver again, the agent's requests come again, and a
// publish made while the hub was down goes out once it is back.
func TestReconnect(t *testing.T) {
	dir := t.TempDir()
	h1 := startHub(t, dir, "")
	addr := h1.MQTTAddr()
	url := "mqtt://" + addr

	type conn struct{ up, down chan struct{} }
	watch := func() (conn, func(*wot.Options)) {
		c := conn{up: make(chan struct{}, 4), down: make(chan struct{}, 4)}
		return c, func(o *wot.Options) {
			o.OnConnect = func() { c.up <- struct{}{} }
			o.OnConnectionLost = func() { c.down <- struct{}{} }
		}
	}
	agentConn, agentOpt := watch()
	appConn, appOpt := watch()
	agent := connect(t, url, "lamp-agent", agentOpt)
	l := exposeLamp(t, agent, lampID)
	app := connect(t, url, "app", appOpt)
	recv(t, agentConn.up, "agent connected")
	recv(t, appConn.up, "app connected")
	lampT, err := app.Thing(ctxT(t), lampID)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan wot.Message, 16)
	ctx := ctxT(t)
	if _, err := lampT.SubscribeEvent(ctx, "overheating", func(m wot.Message) { events <- m }); err != nil {
		t.Fatal(err)
	}
	if err := l.PublishEvent(ctx, "overheating", 80); err != nil {
		t.Fatal(err)
	}
	recv(t, events, "event before the restart")

	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	recv(t, agentConn.down, "agent connection lost")
	recv(t, appConn.down, "app connection lost")

	// A publish while the hub is down waits for the connection.
	published := make(chan error, 1)
	go func() { published <- l.PublishEvent(ctx, "overheating", 81) }()
	select {
	case err := <-published:
		t.Fatalf("publish returned while the hub was down: %v", err)
	default:
	}

	startHub(t, dir, addr)
	recv(t, agentConn.up, "agent reconnected")
	recv(t, appConn.up, "app reconnected")
	if err := recv(t, published, "publish made while down"); err != nil {
		t.Fatal(err)
	}
	// 81 went out when the agent was back, maybe before the app had
	// subscribed again; 82 goes out after both restored their sessions.
	if err := l.PublishEvent(ctx, "overheating", 82); err != nil {
		t.Fatal(err)
	}
	for m := recv(t, events, "event after the restart"); string(m.Payload) != "82"; m = recv(t, events, "event after the restart") {
		if string(m.Payload) != "81" {
			t.Fatalf("event %s", m.Payload)
		}
	}
	var out int
	if err := lampT.InvokeAction(ctx, "echo", 7, &out); err != nil || out != 7 {
		t.Fatalf("invoke after the restart: %d, %v", out, err)
	}
}

func TestTransports(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "lamp-agent")
	l := exposeLamp(t, agent, lampID)
	if err := l.UpdateProperty(ctxT(t), "brightness", 42); err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T, c *wot.Client) {
		t.Helper()
		th, err := c.Thing(ctxT(t), lampID)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := th.ReadProperty(ctxT(t), "brightness", &v); err != nil || v != 42 {
			t.Fatalf("read %d, %v", v, err)
		}
		var out int
		if err := th.InvokeAction(ctxT(t), "echo", 5, &out); err != nil || out != 5 {
			t.Fatalf("invoke %d, %v", out, err)
		}
	}
	t.Run("BareHostPort", func(t *testing.T) {
		read(t, connect(t, h.MQTTAddr(), "bare"))
	})
	t.Run("WebSocket", func(t *testing.T) {
		read(t, connect(t, "ws://"+h.WSAddr()+"/mqtt", "ws-app"))
	})
	t.Run("TLS", func(t *testing.T) {
		front, roots := tlsProxy(t, h.MQTTAddr())
		read(t, connect(t, "mqtts://"+front, "tls-app", func(o *wot.Options) {
			o.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		}))
	})
	t.Run("BadURL", func(t *testing.T) {
		for _, u := range []string{"http://x:1", "mqtt://", "::"} {
			if _, err := wot.Connect(ctxT(t), wot.Options{URL: u}); !errors.Is(err, wot.ErrInvalidInput) {
				t.Errorf("%q: %v", u, err)
			}
		}
	})
	t.Run("NoHub", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := wot.Connect(ctx, wot.Options{URL: addr, MinBackoff: 10 * time.Millisecond}); !errors.Is(err, wot.ErrConnection) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		// Mochi without an auth hook refuses every connection.
		srv := mqtt.New(&mqtt.Options{Capabilities: mqtt.NewDefaultServerCapabilities(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: "127.0.0.1:0"})
		if err := srv.AddListener(tcp); err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		_, err := wot.Connect(ctxT(t), wot.Options{URL: tcp.Address(), Username: "u", Password: "p"})
		if !errors.Is(err, wot.ErrDenied) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestCredentials connects to a hub that is not in development mode: the
// account is the username, and the ResponseTopic lies under its replies/.
func TestCredentials(t *testing.T) {
	h := startHub(t, t.TempDir(), "", func(o *hub.Options) {
		o.Dev, o.AdminPassword, o.PasswordCost = false, "s3cret-password", 4
	})
	t.Run("NoCredentials", func(t *testing.T) {
		if _, err := wot.Connect(ctxT(t), wot.Options{URL: hubtest.URL(h)}); !errors.Is(err, wot.ErrDenied) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("BadPassword", func(t *testing.T) {
		_, err := wot.Connect(ctxT(t), wot.Options{URL: hubtest.URL(h), Username: "admin", Password: "nope"})
		if !errors.Is(err, wot.ErrDenied) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Account", func(t *testing.T) {
		c := connect(t, hubtest.URL(h), "admin-app", func(o *wot.Options) { o.Username, o.Password = "admin", "s3cret-password" })
		if c.AgentID() != "admin" {
			t.Errorf("AgentID = %q", c.AgentID())
		}
		things, err := c.Things(ctxT(t))
		if err != nil || len(things) != 0 {
			t.Fatalf("Things = %v, %v", things, err)
		}
		// The hub checks the ResponseTopic (replies/admin/admin-app) before
		// the Thing: unknown_thing, not invalid_topic.
		ghost := c.Consume(wot.NewThing("urn:none", "Ghost").Action("go", nil, nil).TD())
		err = ghost.InvokeAction(ctxT(t), "go", nil, nil)
		var we *wot.Error
		if !errors.As(err, &we) || we.Code != wot.CodeUnknownThing {
			t.Fatalf("invoke: %v", err)
		}
	})
}

// tlsProxy terminates TLS on a new port and relays to addr. It returns its
// address and the pool that trusts its certificate.
func tlsProxy(t *testing.T, addr string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wotmq test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			front, err := ln.Accept()
			if err != nil {
				return
			}
			back, err := net.Dial("tcp", addr)
			if err != nil {
				front.Close()
				continue
			}
			go func() { io.Copy(back, front); back.Close() }()
			go func() { io.Copy(front, back); front.Close() }()
		}
	}()
	return ln.Addr().String(), roots
}
