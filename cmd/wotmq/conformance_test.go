package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/conformance"
)

func TestConformanceCommand(t *testing.T) {
	m := &Main{LogOutput: &lockedBuffer{}, LogFormat: "json", LogLevel: "warn"}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "off", t.TempDir()
	m.Options.HTTPAddr = "127.0.0.1:0"
	m.Options.Dev = true // the suite's clients connect without credentials
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := len(conformance.Checks())

	t.Run("Text", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(t.Context(), []string{"conformance", "--broker", m.Hub.MQTTAddr(), "--timeout", "5s"}, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != n+1 {
			t.Fatalf("%d lines for %d checks:\n%s", len(lines), n, out.String())
		}
		if !strings.HasPrefix(lines[1], "PASS HUB-TD ") {
			t.Errorf("line %q", lines[1])
		}
		if want := strconv.Itoa(n) + " passed, 0 failed"; lines[n] != want {
			t.Errorf("summary %q, want %q", lines[n], want)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(t.Context(), []string{"conformance", "--broker", m.Hub.MQTTAddr(), "--json"}, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		var got []result
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != n || got[0].ID != "CONNECT" || !got[0].Pass || got[0].Cites == "" {
			t.Errorf("results %+v", got)
		}
	})
}

func TestConformanceCommandFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	err = run(t.Context(), []string{"conformance", "--broker", addr, "--timeout", "1s"}, &out, &errb)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	n := strconv.Itoa(len(conformance.Checks()))
	if !strings.HasPrefix(out.String(), "FAIL CONNECT ") || !strings.HasSuffix(out.String(), "0 passed, "+n+" failed\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestConformanceUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"conformance", "-h"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "wotmq conformance --broker localhost:1883") {
		t.Errorf("help has no example:\n%s", errb.String())
	}
	t.Setenv("WOTMQ_BROKER", "")
	if err := run(context.Background(), []string{"conformance"}, &out, &errb); err == nil || exitCode(err) != 2 {
		t.Errorf("no --broker: %v, want a usage error", err)
	}
}
