package metricsbench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
)

var kinds = []string{"other", "td", "event", "property", "presence", "reply", "action", "write", "cancel", "history", "admin", "request", "status", "signal"}

// The message path counts every publish by kind: an atomic add into an
// array indexed by the kind (broker/metrics.go), against client_golang's
// counter, its vector looked up by label, and its vector's children kept
// in an array.
func BenchmarkCounter(b *testing.B) {
	b.Run("atomic", func(b *testing.B) {
		var in [14]atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				in[i%14].Add(1)
				i++
			}
		})
	})
	b.Run("client_golang/Counter", func(b *testing.B) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
	b.Run("client_golang/CounterVec.WithLabelValues", func(b *testing.B) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"kind"})
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				v.WithLabelValues(kinds[i%14]).Inc()
				i++
			}
		})
	})
	b.Run("client_golang/CounterVec.children", func(b *testing.B) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"kind"})
		var ch [14]prometheus.Counter
		for i, k := range kinds {
			ch[i] = v.WithLabelValues(k)
		}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				ch[i%14].Inc()
				i++
			}
		})
	})
}

// BenchmarkScrape serves /metrics of a real hub: as the hub writes it,
// and the same series through a client_golang registry (a collector of
// constant metrics read at scrape time, as the hub reads most of its
// figures, and client_golang's own Go and process collectors).
func BenchmarkScrape(b *testing.B) {
	log := zerolog.Nop()
	h, err := hub.New(hub.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", MetricsAddr: "off",
		DataDir: b.TempDir(), Dev: true, Logger: &log})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	handler := h.MetricsHandler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	body := rec.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	series := strings.Count(body, "\n") - 2*len(fams)
	b.Logf("the hub's exposition: %d families, %d sample lines, %d bytes", len(fams), series, len(body))

	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			handler.ServeHTTP(discard{}, req)
		}
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&constCollector{fams: fams})
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.Run("client_golang", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			prom.ServeHTTP(discard{}, req)
		}
	})
}

// constCollector emits the parsed families as constant metrics.
type constCollector struct{ fams map[string]*dto.MetricFamily }

func (c *constCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *constCollector) Collect(ch chan<- prometheus.Metric) {
	for name, f := range c.fams {
		for _, m := range f.Metric {
			var names, values []string
			for _, l := range m.Label {
				names, values = append(names, l.GetName()), append(values, l.GetValue())
			}
			desc := prometheus.NewDesc(name, f.GetHelp(), names, nil)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, m.Counter.GetValue(), values...)
			case dto.MetricType_GAUGE:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, m.Gauge.GetValue(), values...)
			case dto.MetricType_HISTOGRAM:
				buckets := map[float64]uint64{}
				for _, bk := range m.Histogram.Bucket {
					buckets[bk.GetUpperBound()] = bk.GetCumulativeCount()
				}
				ch <- prometheus.MustNewConstHistogram(desc, m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum(), buckets, values...)
			case dto.MetricType_SUMMARY:
				q := map[float64]float64{}
				for _, x := range m.Summary.Quantile {
					q[x.GetQuantile()] = x.GetValue()
				}
				ch <- prometheus.MustNewConstSummary(desc, m.Summary.GetSampleCount(), m.Summary.GetSampleSum(), q, values...)
			}
		}
	}
}

// discard is a ResponseWriter that drops the body.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
