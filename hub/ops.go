package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wotmq/wotmq/exposition"
	"github.com/wotmq/wotmq/wot"
)

// maxHeaderWait bounds how long an operations client may take to send its
// request headers.
const maxHeaderWait = 10 * time.Second

// ops is the listener of /metrics, /healthz and /readyz.
type ops struct {
	ready  atomic.Bool
	ln     net.Listener
	server *http.Server
	http   httpStats // the HTTP binding's requests (httpmetrics.go)
}

// listenOps binds the metrics listener (before the MQTT listeners serve,
// so that a bind error stops the start).
func (h *Hub) listenOps() error {
	addr := h.opts.MetricsAddr
	if addr == "" || addr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hub: listen on %s (metrics): %w", addr, err)
	}
	h.ops.ln = ln
	return nil
}

// startOps serves metrics and health and marks the hub ready. It runs
// once the MQTT listeners serve.
func (h *Hub) startOps() {
	if h.ops.ln != nil {
		read := h.opts.HTTPReadTimeout
		if read <= 0 {
			read = DefaultHTTPRead
		}
		idle := h.opts.HTTPIdleTimeout
		if idle <= 0 {
			idle = DefaultHTTPIdle
		}
		h.ops.server = &http.Server{Handler: h.OpsHandler(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: min(read, maxHeaderWait), IdleTimeout: idle}
		go func(srv *http.Server, ln net.Listener) { _ = srv.Serve(ln) }(h.ops.server, h.ops.ln)
		h.log.Info().Str("addr", h.MetricsAddr()).Msg("metrics serving")
	}
	h.ops.ready.Store(true)
}

// stopOps marks the hub not ready and stops the metrics listener.
func (h *Hub) stopOps() {
	h.ops.ready.Store(false)
	if h.ops.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := h.ops.server.Shutdown(ctx); err != nil {
			_ = h.ops.server.Close()
		}
	} else if h.ops.ln != nil {
		_ = h.ops.ln.Close()
	}
}

// MetricsAddr is the bound address of the metrics listener ("" when
// disabled).
func (h *Hub) MetricsAddr() string {
	if h.ops.ln == nil {
		return ""
	}
	return h.ops.ln.Addr().String()
}

// OpsHandler serves /metrics, /healthz and /readyz (what the metrics
// listener serves; another server may mount it too).
func (h *Hub) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h.MetricsHandler())
	mux.Handle("GET /healthz", h.HealthHandler())
	mux.Handle("GET /readyz", h.ReadyHandler())
	return mux
}

// HealthHandler answers 200 while the process runs (liveness).
func (h *Hub) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}

// ReadyHandler answers 200 while the hub serves: its store is open and
// its listeners accept clients; 503 otherwise (starting, stopping).
func (h *Hub) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !h.enter() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "stopping")
			return
		}
		defer h.leave()
		switch {
		case !h.ops.ready.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not serving")
		case h.db.IsClosed():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "store closed")
		default:
			fmt.Fprintln(w, "ready")
			if h.reserve.Refused() { // the write path's decision now, not the last disk check's
				fmt.Fprintln(w, "warning: disk nearly full, writes refused")
			}
		}
	})
}

// MetricsHandler serves the Prometheus text exposition format (0.0.4);
// docs/operations.md explains every metric.
func (h *Hub) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.enter() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		defer h.leave()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		h.writeMetrics(bw)
		h.writeMoreMetrics(bw) // metrics.go
		_ = bw.Flush()
	})
}

// writeMetrics writes every metric: the broker's (the message path, Mochi,
// request latencies, the disk reserve), then the store's and the
// process's.
func (h *Hub) writeMetrics(w *bufio.Writer) {
	h.broker.WriteMetrics(w)
	e := exposition.NewWriter(w)
	h.reserve.writeMetrics(e)
	e.One("wotmq_things", "gauge", "Things registered.", float64(h.dir.Len()))
	e.Family("wotmq_inbox_requests", "gauge", "Unfinished action requests and property writes, by status.")
	counts := h.inbox.Counts()
	for _, st := range []wot.Status{wot.StatusPending, wot.StatusDelivered, wot.StatusRunning, wot.StatusWaiting} {
		e.Sample("wotmq_inbox_requests", `status="`+string(st)+`"`, float64(counts[st]))
	}
	e.One("wotmq_history_trimmed_total", "counter", "History records deleted because a Thing had more than --max-history.", float64(h.outbox.Trimmed()))
	lsm, vlog, wal := h.storeSize()
	e.One("wotmq_store_lsm_bytes", "gauge", "Disk space of the store's LSM tree (tables of keys and small values).", float64(lsm))
	e.One("wotmq_store_vlog_bytes", "gauge", "Disk space of the store's value log (values over 1 KiB).", float64(vlog))
	e.One("wotmq_store_wal_bytes", "gauge", "Disk space of the store's write-ahead logs of the memtables.", float64(wal))
	writeRuntimeMetrics(e)
}

var processStart = time.Now()

// writeRuntimeMetrics writes the Go runtime and process metrics under
// their customary names.
func writeRuntimeMetrics(e *exposition.Writer) {
	e.One("go_goroutines", "gauge", "Goroutines that currently exist.", float64(runtime.NumGoroutine()))
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	val := func(s metrics.Sample) float64 {
		if s.Value.Kind() == metrics.KindUint64 {
			return float64(s.Value.Uint64())
		}
		return 0
	}
	e.One("go_memstats_heap_alloc_bytes", "gauge", "Heap bytes in live and not yet swept objects.", val(samples[0]))
	e.One("go_memstats_sys_bytes", "gauge", "Bytes of memory the Go runtime obtained from the OS.", val(samples[1]))
	e.One("go_gc_cycles_total", "counter", "Completed GC cycles.", val(samples[2]))
	e.One("process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.", float64(processStart.UnixNano())/1e9)
	if rss, ok := residentBytes(); ok {
		e.One("process_resident_memory_bytes", "gauge", "Resident memory of the process.", float64(rss))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		e.One("process_open_fds", "gauge", "Open file descriptors.", float64(len(fds)))
	}
}

// residentBytes reads the resident set size from /proc (Linux only).
func residentBytes() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

// storeSize is the disk space the store's files take, by kind: LSM tables
// (and manifest), value log, memtable logs. Badger's own Size is updated
// only once a minute and counts the value log's reserved, sparse space.
func (h *Hub) storeSize() (lsm, vlog, wal int64) {
	entries, err := os.ReadDir(h.opts.DataDir)
	if err != nil {
		return 0, 0, 0
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		n := allocated(fi)
		switch filepath.Ext(e.Name()) {
		case ".vlog":
			vlog += n
		case ".mem":
			wal += n
		default:
			lsm += n
		}
	}
	return lsm, vlog, wal
}
