package hub_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hub"
)

// A strict parser of the Prometheus text exposition format 0.0.4, as
// Prometheus' own (github.com/prometheus/common/expfmt, TextParser) reads
// it and stricter: the hub's /metrics output was also checked with that
// parser once, out of tree. The module does not depend on
// prometheus/common for it: its v0.74.0 would raise golang.org/x/net and
// protobuf for the whole module and bring a dozen modules into go.sum
// (docs/operations.md, "Why no client library").

// family is one metric family of an exposition.
type family struct {
	name, typ, help string
	samples         []sample
}

type sample struct {
	name   string            // the family's name, or it with _bucket, _sum, _count
	labels map[string]string // without le and quantile
	le     string            // a histogram bucket's bound
	q      string            // a summary's quantile
	value  float64
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseExposition parses body strictly: every family declared once by
// HELP then TYPE before its samples, its samples together, names and
// labels valid, label values escaped, no series twice, histograms
// cumulative with a +Inf bucket equal to their _count, summaries with
// their quantiles, _sum and _count.
func parseExposition(t *testing.T, body string) map[string]*family {
	t.Helper()
	fams := map[string]*family{}
	var cur *family
	seen := map[string]bool{}
	if !strings.HasSuffix(body, "\n") {
		t.Error("exposition does not end with a line end")
	}
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		at := fmt.Sprintf("line %d %q", i+1, line)
		switch {
		case line == "":
			t.Errorf("%s: empty line", at)
		case strings.HasPrefix(line, "# HELP "):
			name, help, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if !ok || !metricName.MatchString(name) || help == "" {
				t.Errorf("%s: bad HELP", at)
				continue
			}
			if fams[name] != nil {
				t.Errorf("%s: family %s declared twice", at, name)
			}
			cur = &family{name: name, help: help}
			fams[name] = cur
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || cur == nil || f[2] != cur.name || cur.typ != "" {
				t.Errorf("%s: TYPE not right after the HELP of its family", at)
				continue
			}
			switch f[3] {
			case "counter", "gauge", "histogram", "summary", "untyped":
				cur.typ = f[3]
			default:
				t.Errorf("%s: unknown type", at)
			}
		case strings.HasPrefix(line, "#"):
			t.Errorf("%s: a comment that is no HELP or TYPE", at)
		default:
			s, err := parseSample(line)
			if err != nil {
				t.Errorf("%s: %v", at, err)
				continue
			}
			if cur == nil || !belongs(s.name, cur) {
				t.Errorf("%s: sample outside its family's block (HELP and TYPE first, samples together)", at)
				continue
			}
			key := line[:strings.LastIndexByte(line, ' ')]
			if seen[key] {
				t.Errorf("%s: series twice", at)
			}
			seen[key] = true
			cur.samples = append(cur.samples, s)
		}
	}
	for _, f := range fams {
		checkFamily(t, f)
	}
	return fams
}

// belongs reports whether a sample name belongs to family f.
func belongs(name string, f *family) bool {
	switch f.typ {
	case "histogram":
		return name == f.name+"_bucket" || name == f.name+"_sum" || name == f.name+"_count"
	case "summary":
		return name == f.name || name == f.name+"_sum" || name == f.name+"_count"
	}
	return name == f.name
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(rest, "{ "); i < 0 {
		return s, fmt.Errorf("no value")
	} else {
		s.name, rest = rest[:i], rest[i:]
	}
	if !metricName.MatchString(s.name) {
		return s, fmt.Errorf("bad metric name %q", s.name)
	}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return s, fmt.Errorf("bad label")
			}
			name := rest[:eq]
			if !labelName.MatchString(name) || strings.HasPrefix(name, "__") {
				return s, fmt.Errorf("bad label name %q", name)
			}
			rest = rest[eq+2:]
			var val strings.Builder
			for {
				if rest == "" {
					return s, fmt.Errorf("label %s: no closing quote", name)
				}
				c := rest[0]
				rest = rest[1:]
				if c == '"' {
					break
				}
				if c == '\\' {
					if rest == "" || !strings.ContainsRune(`\"n`, rune(rest[0])) {
						return s, fmt.Errorf("label %s: bad escape", name)
					}
					c, rest = map[byte]byte{'\\': '\\', '"': '"', 'n': '\n'}[rest[0]], rest[1:]
				}
				val.WriteByte(c)
			}
			if _, dup := s.labels[name]; dup || (name == "le" && s.le != "") || (name == "quantile" && s.q != "") {
				return s, fmt.Errorf("label %s twice", name)
			}
			switch name {
			case "le":
				s.le = val.String()
			case "quantile":
				s.q = val.String()
			default:
				s.labels[name] = val.String()
			}
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("labels: want , or }")
			}
		}
		rest = rest[1:]
	}
	f := strings.Fields(rest)
	if !strings.HasPrefix(rest, " ") || len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("want one space, the value and an optional timestamp")
	}
	v, err := parseValue(f[0])
	if err != nil {
		return s, err
	}
	s.value = v
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", f[1])
		}
	}
	return s, nil
}

func parseValue(v string) (float64, error) {
	switch v {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(v, 64)
}

// checkFamily checks what a family's type asks of its samples.
func checkFamily(t *testing.T, f *family) {
	t.Helper()
	if f.typ == "" {
		t.Errorf("%s: no TYPE", f.name)
		return
	}
	series := func(s sample) string {
		keys := make([]string, 0, len(s.labels))
		for k, v := range s.labels {
			keys = append(keys, k+"="+v)
		}
		slices.Sort(keys)
		return strings.Join(keys, ",")
	}
	switch f.typ {
	case "counter":
		for _, s := range f.samples {
			if s.value < 0 || math.IsNaN(s.value) {
				t.Errorf("%s{%s}: counter at %v", f.name, series(s), s.value)
			}
		}
	case "histogram":
		last, lastLE, inf, count := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, s := range f.samples {
			k := series(s)
			switch s.name {
			case f.name + "_bucket":
				le, err := parseValue(s.le)
				if s.le == "" || err != nil {
					t.Errorf("%s{%s}: bucket without a valid le", f.name, k)
					continue
				}
				if prev, ok := lastLE[k]; ok && le <= prev {
					t.Errorf("%s{%s}: bucket bounds not increasing at le=%s", f.name, k, s.le)
				}
				if s.value < last[k] {
					t.Errorf("%s{%s}: buckets not cumulative at le=%s", f.name, k, s.le)
				}
				last[k], lastLE[k] = s.value, le
				if math.IsInf(le, 1) {
					inf[k] = s.value
				}
			case f.name + "_count":
				count[k] = s.value
			}
		}
		for k, c := range count {
			if v, ok := inf[k]; !ok || v != c {
				t.Errorf("%s{%s}: _count %v, +Inf bucket %v", f.name, k, c, v)
			}
		}
	case "summary":
		has := map[string]bool{}
		for _, s := range f.samples {
			has[s.name] = true
			if s.name == f.name && s.q == "" {
				t.Errorf("%s: summary sample without a quantile", f.name)
			}
		}
		if !has[f.name+"_sum"] || !has[f.name+"_count"] {
			t.Errorf("%s: summary without _sum or _count", f.name)
		}
	}
}

// exposed is the names a query may use: every family, and the _bucket,
// _sum and _count series of histograms and summaries.
func exposed(fams map[string]*family) map[string]bool {
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		if f.typ == "histogram" || f.typ == "summary" {
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = f.typ == "histogram", true, true
		}
	}
	return names
}

// scrapeFamilies reads and strictly parses a hub's /metrics.
func scrapeFamilies(t *testing.T, h *hub.Hub) map[string]*family {
	t.Helper()
	resp, err := http.Get("http://" + h.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return parseExposition(t, string(body))
}

// TestMetricNames parses /metrics strictly and checks that the families
// operators and the shipped dashboard and alerts rely on are there, each
// of the type they expect, and that docs/operations.md explains every
// family the hub exposes.
func TestMetricNames(t *testing.T) {
	h := startOpsHub(t)
	fams := scrapeFamilies(t, h)
	for name, typ := range map[string]string{
		"wotmq_build_info":                    "gauge",
		"wotmq_login_failures_total":          "counter",
		"wotmq_http_requests_total":           "counter",
		"wotmq_http_request_duration_seconds": "histogram",
		"wotmq_connections":                   "gauge",
		"wotmq_messages_refused_total":        "counter",
		"wotmq_messages_dropped_total":        "counter",
		"wotmq_inbox_requests":                "gauge",
		"wotmq_store_full":                    "gauge",
		"wotmq_store_free_bytes":              "gauge",
		"wotmq_action_latency_seconds":        "histogram",
		"process_cpu_seconds_total":           "counter",
		"process_open_fds":                    "gauge",
		"process_max_fds":                     "gauge",
		"process_resident_memory_bytes":       "gauge",
		"process_virtual_memory_bytes":        "gauge",
		"process_start_time_seconds":          "gauge",
		"go_goroutines":                       "gauge",
		"go_threads":                          "gauge",
		"go_info":                             "gauge",
		"go_gc_duration_seconds":              "summary",
		"go_memstats_alloc_bytes":             "gauge",
		"go_memstats_heap_inuse_bytes":        "gauge",
	} {
		t.Run(name, func(t *testing.T) {
			f := fams[name]
			if f == nil {
				t.Fatalf("/metrics has no %s", name)
			}
			if f.typ != typ {
				t.Errorf("%s is a %s, want a %s", name, f.typ, typ)
			}
		})
	}
	t.Run("BuildInfoNamesTheBuild", func(t *testing.T) {
		f := fams["wotmq_build_info"]
		if f == nil || len(f.samples) != 1 || f.samples[0].value != 1 || f.samples[0].labels["version"] == "" || f.samples[0].labels["goversion"] == "" {
			t.Errorf("wotmq_build_info: %+v", f)
		}
	})
	t.Run("LoginFailuresHaveEveryReason", func(t *testing.T) {
		if f := fams["wotmq_login_failures_total"]; f == nil || len(f.samples) < 6 {
			t.Errorf("wotmq_login_failures_total: %+v", f)
		}
	})
	t.Run("OperationsDocExplainsEveryFamily", func(t *testing.T) {
		doc, err := os.ReadFile("../docs/operations.md")
		if err != nil {
			t.Fatal(err)
		}
		for name := range fams {
			if !strings.Contains(string(doc), "`"+name) {
				t.Errorf("docs/operations.md does not explain %s", name)
			}
		}
	})
}
