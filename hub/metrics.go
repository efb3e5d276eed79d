package hub

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/exposition"
)

// The metrics below complete those of ops.go and of the broker: which
// build runs, failed logins, HTTP requests, and the process and Go
// runtime figures under the names the Prometheus client libraries give
// them (process_cpu_seconds_total, go_gc_duration_seconds, ...), which
// the usual Grafana dashboards for Go processes read. All are read when
// /metrics is scraped; none costs anything on the message path.
// docs/operations.md explains each one and why the exposition is written
// by hand rather than with prometheus/client_golang.

// writeMoreMetrics writes the metrics of this file.
func (h *Hub) writeMoreMetrics(w *bufio.Writer) {
	e := exposition.NewWriter(w)
	b := h.opts.Build
	e.Family("wotmq_build_info", "gauge", "Always 1; the labels say which build runs (wotmq version).")
	e.Sample("wotmq_build_info", `version="`+labelValue(b.Version)+`",revision="`+labelValue(b.Revision)+`",goversion="`+labelValue(b.Go)+`"`, 1)
	e.Family("wotmq_login_failures_total", "counter", "Failed logins (MQTT and HTTP; passwords, tokens, client certificates), by reason.")
	fails := h.authz.LoginFailures()
	for _, r := range authz.Reasons() {
		e.Sample("wotmq_login_failures_total", `reason="`+string(r)+`"`, float64(fails[r]))
	}
	h.ops.http.write(e)
	l := h.opts.Limits
	e.One("wotmq_store_min_free_bytes", "gauge", "The disk reserve (--min-free-disk): below it writes are refused; 0 when off.", float64(limitValue(l.MinFreeDisk, DefaultMinFreeDisk)))
	e.One("wotmq_connections_max", "gauge", "The most connections the hub takes (--max-connections); 0 when unlimited.", float64(limitValue(int64(l.MaxConnections), DefaultMaxConnections)))
	if h.upstream != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h.upstream.WriteMetrics(ctx, e)
		cancel()
	}
	writeProcessMetrics(e)
}

// limitValue is a limit as the broker applies it: the default when zero,
// 0 (off) when negative.
func limitValue(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// writeProcessMetrics writes the process and runtime metrics that
// writeRuntimeMetrics (ops.go) does not.
func writeProcessMetrics(e *exposition.Writer) {
	if cpu, ok := cpuSeconds(); ok {
		e.One("process_cpu_seconds_total", "counter", "User and system CPU time the process spent, seconds.", cpu)
	}
	if n, ok := maxFDs(); ok {
		e.One("process_max_fds", "gauge", "Most open file descriptors the process may have (RLIMIT_NOFILE).", float64(n))
	}
	if vm, ok := statm(0); ok {
		e.One("process_virtual_memory_bytes", "gauge", "Virtual memory of the process.", float64(vm))
	}
	e.Family("go_info", "gauge", "Always 1; the label is the Go version that built the binary.")
	e.Sample("go_info", `version="`+labelValue(runtime.Version())+`"`, 1)
	threads, _ := runtime.ThreadCreateProfile(nil)
	e.One("go_threads", "gauge", "OS threads the Go runtime created.", float64(threads))

	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/sched/gomaxprocs:threads"},
	}
	metrics.Read(samples)
	val := func(i int) float64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return float64(samples[i].Value.Uint64())
		}
		return 0
	}
	e.One("go_memstats_alloc_bytes", "gauge", "Bytes of allocated heap objects.", val(4))
	e.One("go_memstats_alloc_bytes_total", "counter", "Bytes allocated on the heap since the start.", val(0))
	e.One("go_memstats_heap_objects", "gauge", "Allocated heap objects.", val(1))
	e.One("go_memstats_heap_inuse_bytes", "gauge", "Bytes in heap spans in use.", val(4)+val(3))
	e.One("go_memstats_next_gc_bytes", "gauge", "Heap size at which the next garbage collection runs.", val(2))
	e.One("go_sched_gomaxprocs_threads", "gauge", "GOMAXPROCS: threads that may run Go code at once.", val(5))

	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&gc)
	e.Family("go_gc_duration_seconds", "summary", "Stop-the-world pauses of the garbage collector, seconds (quantiles over the recent pauses).")
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		e.Sample("go_gc_duration_seconds", `quantile="`+q+`"`, gc.PauseQuantiles[i].Seconds())
	}
	e.Sample("go_gc_duration_seconds_sum", "", gc.PauseTotal.Seconds())
	e.Sample("go_gc_duration_seconds_count", "", float64(gc.NumGC))
}

// statm reads field i of /proc/self/statm, in bytes (Linux only): 0 is
// the virtual size, 1 the resident set.
func statm(i int) (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) <= i {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[i], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

// labelValue escapes a label value of the text format.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
