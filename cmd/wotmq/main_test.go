package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// lockedBuffer collects output written concurrently (hubtest.Buffer).
type lockedBuffer = hubtest.Buffer

func TestMainServes(t *testing.T) {
	logs := &lockedBuffer{}
	m := &Main{LogOutput: logs, LogFormat: "json", LogLevel: "info"}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	m.Options.HTTPAddr = "127.0.0.1:0"
	m.Options.Dev = true
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	resp, err := http.Get("http://" + m.Hub.HTTPAddr() + "/.well-known/wot")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /.well-known/wot: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, addr := range []string{m.Hub.MQTTAddr(), m.Hub.WSAddr()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		c.Close()
	}
	conn, err := net.Dial("tcp", m.Hub.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 1)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			select {
			case got <- pr.Packet:
			default:
			}
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "t", CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: wot.HubTDTopic, QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if !strings.Contains(string(m.Payload), "AgentUpdateTD") {
			t.Errorf("hub TD: %s", m.Payload)
		}
	case <-ctx.Done():
		t.Fatal("no hub TD")
	}
	c.Disconnect(&paho.Disconnect{})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"message":"hub started"`) || !strings.Contains(logs.String(), `"message":"hub stopped"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestServeFlagsAndEnv(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	m := &Main{}
	serveFlags(fs, m)
	if err := fs.Parse([]string{"--data", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WOTMQ_DATA": "/from/env", "WOTMQ_MQTT_ADDR": ":1999", "WOTMQ_RETENTION": "36h",
		"WOTMQ_RETENTION_OVERRIDE": "temperature=720h,presence=0", "WOTMQ_MAX_QUEUE": "50"}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if m.Options.DataDir != "/from/flag" {
		t.Errorf("flag lost to env: %s", m.Options.DataDir)
	}
	if m.Options.TCPAddr != ":1999" || m.Options.Retention != 36*time.Hour || m.Options.MaxQueue != 50 {
		t.Errorf("env not applied: %+v", m.Options)
	}
	if ro := m.Options.RetentionOverrides; ro["temperature"] != 720*time.Hour || len(ro) != 2 {
		t.Errorf("retention overrides: %v", ro)
	}
	env["WOTMQ_RETENTION"] = "soon"
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	serveFlags(fs2, &Main{})
	if err := applyEnv(fs2, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "WOTMQ_RETENTION") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestServeHTTPFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	m := &Main{}
	serveFlags(fs, m)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if o := m.Options; o.HTTPAddr != ":8080" || o.HTTPSAddr != ":8443" || !o.MDNS || o.MDNSInterface != "" {
		t.Errorf("defaults: http %q https %q mdns %v %q", o.HTTPAddr, o.HTTPSAddr, o.MDNS, o.MDNSInterface)
	}
	env := map[string]string{"WOTMQ_HTTP_ADDR": "off", "WOTMQ_MDNS": "false", "WOTMQ_MDNS_INTERFACE": "eth1"}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if o := m.Options; o.HTTPAddr != "off" || o.MDNS || o.MDNSInterface != "eth1" {
		t.Errorf("env not applied: http %q mdns %v %q", o.HTTPAddr, o.MDNS, o.MDNSInterface)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {"nope"}, {"serve", "--log-level", "loud"}, {"serve", "extra"}} {
		err := run(context.Background(), args, &out, &errb)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
