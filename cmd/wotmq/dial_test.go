package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestClientCommandsFailFastWithoutAHub(t *testing.T) {
	addr := freeAddr(t)
	for _, args := range [][]string{
		{"things"}, {"td", "lamp"}, {"read", "lamp"}, {"observe", "lamp", "x"}, {"write", "lamp", "p", "1"},
		{"invoke", "lamp", "toggle"}, {"sub", "#"}, {"history", "lamp"},
		{"accounts", "list"}, {"token"}, {"backup"},
	} {
		t.Run(args[0], func(t *testing.T) {
			start := time.Now()
			var out, errb bytes.Buffer
			err := run(context.Background(), append(args, "--broker", addr, "--timeout", "20s"), &out, &errb)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s to give up", took)
			}
			if !errors.Is(err, errNoHub) || !strings.Contains(err.Error(), "no hub answers at "+addr) || exitCode(err) != 1 {
				t.Errorf("wotmq %s with no hub: %v", strings.Join(args, " "), err)
			}
		})
	}
}

func TestHubAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1883":             "127.0.0.1:1883",
		"mqtt://hub.example:1884":    "hub.example:1884",
		"mqtt://hub.example":         "hub.example:1883",
		"mqtts://hub.example":        "hub.example:8883",
		"ws://hub.example:9001/mqtt": "hub.example:9001",
		"wss://hub.example/mqtt":     "hub.example:443",
		"gopher://hub.example":       "",
	} {
		if got := hubAddr(in); got != want {
			t.Errorf("hubAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// startBenchHub starts a development hub for wotmq bench.
func startBenchHub(t *testing.T, mod func(*Main)) *Main {
	t.Helper()
	m := &Main{LogOutput: io.Discard}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.HTTPAddr = "127.0.0.1:0", "off", "off"
	m.Options.DataDir, m.Options.Dev = t.TempDir(), true
	if mod != nil {
		mod(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// benchThings lists the IDs of the Things starting with prefix.
func benchThings(t *testing.T, m *Main, prefix string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"things", "--broker", m.Hub.MQTTAddr(), "--json"}, &out, &errb); err != nil {
		t.Fatalf("things: %v %s", err, errb.String())
	}
	var ids []string
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var th struct {
			ID string `json:"id"`
		}
		if line != "" && json.Unmarshal([]byte(line), &th) == nil && strings.HasPrefix(th.ID, prefix) {
			ids = append(ids, th.ID)
		}
	}
	return ids
}

// unfinished reads wotmq_inbox_requests, summed over the statuses.
func unfinished(t *testing.T, m *Main) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Hub.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var n float64
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "wotmq_inbox_requests{") {
			var v float64
			json.Unmarshal([]byte(line[strings.LastIndexByte(line, ' ')+1:]), &v)
			n += v
		}
	}
	return n
}

func TestBenchLeavesNothingBehind(t *testing.T) {
	m := startBenchHub(t, nil)
	bench := []string{"bench", "--broker", m.Hub.MQTTAddr(), "--scenarios", "q1:2->1,actions:4", "--payloads", "64",
		"--duration", "300ms", "--warmup", "50ms", "--quiet"}
	t.Run("ThingsAndRequestsRemoved", func(t *testing.T) {
		if err := run(context.Background(), append(bench, "--prefix", "gone"), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if left := benchThings(t, m, "gone-"); len(left) != 0 {
			t.Errorf("bench left Things %v", left)
		}
		if n := unfinished(t, m); n != 0 {
			t.Errorf("bench left %v unfinished requests", n)
		}
	})
	t.Run("KeptWithKeep", func(t *testing.T) {
		if err := run(context.Background(), append(bench, "--prefix", "kept", "--keep"), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if left := benchThings(t, m, "kept-"); len(left) != 6 {
			t.Errorf("bench --keep left Things %v, want the 6 it registered", left)
		}
	})
	t.Run("HelpSaysItLoadsTheTarget", func(t *testing.T) {
		var errb bytes.Buffer
		run(context.Background(), []string{"bench", "-h"}, io.Discard, &errb)
		if !strings.Contains(errb.String(), "Loads the target") || !strings.Contains(errb.String(), "--keep") {
			t.Errorf("bench -h:\n%s", errb.String())
		}
	})
}

func TestBenchFailsOnRefusals(t *testing.T) {
	m := startBenchHub(t, func(m *Main) { m.Options.Limits.RateLimit, m.Options.Limits.RateBurst = 20, 40 })
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "--broker", m.Hub.MQTTAddr(), "--scenarios", "q1:2->1", "--payloads", "64",
		"--duration", "1s", "--warmup", "-1s", "--quiet"}, &out, io.Discard)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("bench against a hub at its rate limit: %v, want exit status 1", err)
	}
	if !strings.Contains(err.Error(), "errors; the first:") || !strings.Contains(err.Error(), "hint: the hub's rate limit") {
		t.Errorf("error %q names neither the refusal nor the rate limit", err)
	}
	if !strings.Contains(out.String(), "events q1 2->1") {
		t.Errorf("the results are not printed before the error:\n%s", out.String())
	}
}
