package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves the Go profiler (net/http/pprof) on m.PprofAddr, for
// profiling the hub under load:
//
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10
//	go tool pprof http://127.0.0.1:6060/debug/pprof/heap
//
// Profiles show internals, so only a loopback address is accepted.
func (m *Main) startPprof() error {
	if m.PprofAddr == "" || m.PprofAddr == "off" {
		return nil
	}
	if err := checkPprofAddr(m.PprofAddr); err != nil {
		return err
	}
	l, err := net.Listen("tcp", m.PprofAddr)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.pprofAddr = l.Addr().String()
	go func() {
		if err := m.pprof.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(m.LogOutput, "pprof:", err)
		}
	}()
	return nil
}

// stopPprof stops the profiler's server, if it runs.
func (m *Main) stopPprof() {
	if m.pprof != nil {
		_ = m.pprof.Close()
		m.pprof = nil
	}
}

// checkPprofAddr accepts "", "off" and loopback addresses.
func checkPprofAddr(addr string) error {
	if addr == "" || addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Sprintf("--pprof-addr %q: %v", addr, err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError{fmt.Sprintf("--pprof-addr %q: only a loopback address (127.0.0.1:PORT)", addr)}
	}
	return nil
}
