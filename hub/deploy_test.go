package hub_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Grafana dashboard and the Prometheus alert rules in deploy/ are
// only as good as the names they query: these tests read every expression
// and check each metric it names against a live hub's /metrics.

// promqlWords are the PromQL functions, aggregations and keywords an
// expression may hold besides metric names.
var promqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`sum min max avg count stddev stdvar topk bottomk quantile count_values group
		by without on ignoring group_left group_right and or unless bool offset
		rate irate increase delta idelta deriv predict_linear changes resets absent absent_over_time
		histogram_quantile time vector scalar clamp_min clamp_max abs ceil floor round sqrt exp ln log2 log10
		sort sort_desc label_replace label_join timestamp
		avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time last_over_time
		humanize humanize1024 humanizeDuration`) {
		promqlWords[w] = true
	}
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	grafanaVar   = regexp.MustCompile(`\$\{?\w+\}?`)
)

// metricsIn returns the metric names an expression queries.
func metricsIn(expr string) []string {
	e := grafanaVar.ReplaceAllString(expr, "1")
	e = promString.ReplaceAllString(e, `""`)
	e = promMatchers.ReplaceAllString(e, "")
	e = promRange.ReplaceAllString(e, "")
	e = promGrouping.ReplaceAllString(e, "")
	var out []string
	for _, id := range promIdent.FindAllString(e, -1) {
		if !promqlWords[id] {
			out = append(out, id)
		}
	}
	return out
}

// notTheHubs are series a query may name that Prometheus makes itself.
var notTheHubs = map[string]bool{"up": true}

// alertExprs reads the expr of every rule of the alert rules file (one
// line each: the file keeps them so).
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../deploy/prometheus/wotmq-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	alert := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		l := strings.TrimSpace(line)
		if a, ok := strings.CutPrefix(l, "- alert: "); ok {
			alert = a
		}
		if e, ok := strings.CutPrefix(l, "expr: "); ok {
			if alert == "" || out[alert] != "" || e == "|" || e == ">" {
				t.Fatalf("alert rules: an expr without its alert, twice, or over several lines: %q", line)
			}
			out[alert] = e
		}
	}
	return out
}

// dashboardExprs reads every query of the Grafana dashboard, by panel
// title.
func dashboardExprs(t *testing.T) (map[string]any, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/wotmq.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/wotmq.json: %v", err)
	}
	out := map[string][]string{}
	var walk func(title string, v any)
	walk = func(title string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["title"].(string); ok {
				title = s
			}
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					out[title] = append(out[title], s)
				}
				walk(title, x)
			}
		case []any:
			for _, x := range v {
				walk(title, x)
			}
		}
	}
	walk("", dash)
	return dash, out
}

func TestDeployReferencesOnlyExposedMetrics(t *testing.T) {
	h := startOpsHub(t)
	names := exposed(scrapeFamilies(t, h))
	check := func(t *testing.T, where, expr string) {
		t.Helper()
		found := metricsIn(expr)
		if len(found) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, m := range found {
			if !names[m] && !notTheHubs[m] {
				t.Errorf("%s: %s is no metric of the hub (in %q)", where, m, expr)
			}
		}
	}
	t.Run("AlertRules", func(t *testing.T) {
		exprs := alertExprs(t)
		if len(exprs) < 10 {
			t.Fatalf("only %d alert rules", len(exprs))
		}
		var all string
		for alert, e := range exprs {
			check(t, alert, e)
			all += e + "\n"
		}
		// The conditions an operator must act on (issue 17).
		for _, m := range []string{"wotmq_store_full", "wotmq_store_free_bytes", "wotmq_messages_refused_total",
			"wotmq_inbox_requests", "wotmq_messages_dropped_total", "wotmq_login_failures_total"} {
			if !strings.Contains(all, m) {
				t.Errorf("no alert on %s", m)
			}
		}
	})
	t.Run("Dashboard", func(t *testing.T) {
		dash, exprs := dashboardExprs(t)
		if len(exprs) < 20 {
			t.Fatalf("only %d panels with queries", len(exprs))
		}
		for title, es := range exprs {
			for _, e := range es {
				check(t, "panel "+title, strings.NewReplacer("label_values(", "", ", instance)", "").Replace(e))
			}
		}
		var ids []float64
		for _, p := range dash["panels"].([]any) {
			ids = append(ids, p.(map[string]any)["id"].(float64))
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != len(dash["panels"].([]any)) {
			t.Error("panel ids are not unique")
		}
	})
	t.Run("ExtractorSeesThroughPromQL", func(t *testing.T) {
		got := metricsIn(`histogram_quantile(0.99, sum by (le, route) (rate(wotmq_http_request_duration_seconds_bucket{class="2xx",instance=~"$instance"}[$__rate_interval]))) > 0 and on(instance) up == 1`)
		if !slices.Equal(got, []string{"wotmq_http_request_duration_seconds_bucket", "up"}) {
			t.Errorf("metricsIn = %q", got)
		}
	})
}

// TestAlertRulesWithPromtool checks the rules' syntax and runs their unit
// tests (deploy/prometheus/wotmq-alerts_test.yml) where promtool is
// installed (Debian: apt-get install prometheus).
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): the alert rules' syntax and unit tests are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "wotmq-alerts.yml"}, {"test", "rules", "wotmq-alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
