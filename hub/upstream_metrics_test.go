package hub_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// TestUpstreamMetrics: an edge hub (Options.Upstream) exposes its link's
// families, well-formed (the strict parser of TestMetricNames), of their
// types, and each explained in docs/operations.md.
func TestUpstreamMetrics(t *testing.T) {
	cloud := hubtest.Start(t)
	edge := startOpsHub(t, func(o *hub.Options) {
		o.Upstream = hub.Upstream{URL: hubtest.URL(cloud), Username: "edge-metrics", Things: []string{"*"}, MaxBackoff: 100 * time.Millisecond}
	})
	want := map[string]string{
		"wotmq_upstream_connected":       "gauge",
		"wotmq_upstream_backlog_records": "gauge",
		"wotmq_upstream_things":          "gauge",
		"wotmq_upstream_forwarded_total": "counter",
		"wotmq_upstream_refused_total":   "counter",
		"wotmq_upstream_dropped_total":   "counter",
		"wotmq_upstream_clashes_total":   "counter",
	}
	hubtest.WaitFor(t, "the link up", func() bool {
		f := scrapeFamilies(t, edge)["wotmq_upstream_connected"]
		return f != nil && len(f.samples) == 1 && f.samples[0].value == 1
	})
	fams := scrapeFamilies(t, edge)
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range want {
		if f := fams[name]; f == nil || f.typ != typ {
			t.Errorf("%s: %+v, want a %s", name, f, typ)
		}
		if !strings.Contains(string(doc), "`"+name) {
			t.Errorf("docs/operations.md does not explain %s", name)
		}
	}
}
