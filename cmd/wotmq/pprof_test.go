package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofServesOnLoopbackOnly(t *testing.T) {
	m := &Main{LogOutput: io.Discard, PprofAddr: "127.0.0.1:0"}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.HTTPAddr = "127.0.0.1:0", "off", "off"
	m.Options.DataDir, m.Options.Dev = t.TempDir(), true
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	resp, err := http.Get("http://" + m.pprofAddr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("status %d: %.200s", resp.StatusCode, body)
	}

	for _, addr := range []string{"0.0.0.0:0", ":6060", "192.0.2.1:6060"} {
		m := &Main{LogOutput: io.Discard, PprofAddr: addr}
		err := m.Run(context.Background()) // refused before the hub starts
		m.Close()
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("--pprof-addr %s: %v, want a usage error", addr, err)
		}
	}
}
