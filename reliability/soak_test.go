package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// TestSoak runs 1,000 clients against a hub process with steady traffic
// and checks that the hub's resident memory and goroutines stay flat after
// warm-up. A tenth of the clients are agents (one Thing each: an event a
// second, a property value every five seconds, answering actions); the
// rest are consumers (each subscribed to one Thing's events, invoking an
// action every ten seconds, reconnecting every one to two minutes).
func TestSoak(t *testing.T) {
	if os.Getenv("WOTMQ_SOAK") == "" {
		t.Skip("set WOTMQ_SOAK=1 (make soak)")
	}
	dur := 10 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("WOTMQ_SOAK_DURATION")); err == nil && d > 0 {
		dur = d
	}
	warm := dur / 5
	clients := envInt("WOTMQ_SOAK_CLIENTS", 1000)
	agents := max(clients/10, 1)
	consumers := clients - agents

	p := startProc(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st soakStats
	var wg sync.WaitGroup
	for i := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); soakAgent(ctx, p.mqtt, i, &st) }()
	}
	for j := range consumers {
		wg.Add(1)
		go func() { defer wg.Done(); soakConsumer(ctx, p.mqtt, j, j%agents, &st) }()
	}

	start := time.Now()
	cpu0, _ := cpuSeconds(p)
	var samples []soakSample
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	end := time.After(dur)
loop:
	for {
		select {
		case <-tick.C:
			s, err := sample(p, time.Since(start))
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, s)
			t.Logf("%6s rss %4d MiB (anon %4d) heap %4d MiB goroutines %5d connections %4.0f in %9.0f out %9.0f",
				s.at.Round(time.Second), s.rss>>20, s.anon>>20, int64(s.heap)>>20, int(s.goroutines), s.m["wotmq_connections"],
				s.m["wotmq_mqtt_messages_received_total"], s.m["wotmq_mqtt_messages_sent_total"])
		case <-end:
			break loop
		case <-p.exited:
			t.Fatalf("hub exited: %v", p.waitErr)
		}
	}
	cpu1, _ := cpuSeconds(p)
	cancel()
	wg.Wait()
	p.stop()

	var after []soakSample
	for _, s := range samples {
		if s.at >= warm {
			after = append(after, s)
		}
	}
	if len(after) < 6 {
		t.Fatalf("only %d samples after warm-up", len(after))
	}
	rep := soakReport{dur: dur, warm: warm, agents: agents, consumers: consumers, samples: after, cpu: cpu1 - cpu0, st: &st}
	rssFirst, rssLast := thirds(after, func(s soakSample) float64 { return float64(s.rss) })
	anonFirst, anonLast := thirds(after, func(s soakSample) float64 { return float64(s.anon) })
	grFirst, grLast := thirds(after, func(s soakSample) float64 { return s.goroutines })
	if rssLast > rssFirst*1.10+16<<20 {
		rep.failures = append(rep.failures, fmt.Sprintf("resident memory grew from %.0f to %.0f MiB", rssFirst/(1<<20), rssLast/(1<<20)))
	}
	if anonLast > anonFirst*1.10+16<<20 {
		rep.failures = append(rep.failures, fmt.Sprintf("anonymous memory grew from %.0f to %.0f MiB", anonFirst/(1<<20), anonLast/(1<<20)))
	}
	if grLast > grFirst*1.05+20 {
		rep.failures = append(rep.failures, fmt.Sprintf("goroutines grew from %.0f to %.0f", grFirst, grLast))
	}
	if n := st.errors.Load(); n > 0 {
		rep.failures = append(rep.failures, fmt.Sprintf("%d client errors %v", n, st.kinds))
		for _, e := range st.examples {
			t.Log(e)
		}
	}
	text := rep.markdown()
	t.Log("\n" + text)
	if path := os.Getenv("WOTMQ_SOAK_REPORT"); path != "" {
		if err := writeSection(path, text); err != nil {
			t.Error(err)
		}
	}
	for _, f := range rep.failures {
		t.Error(f)
	}
}

type soakStats struct {
	events, values, invoked, completed, busy, reconnects, errors, subRetries atomic.Int64

	mu       sync.Mutex
	kinds    map[string]int // errors by kind
	examples []string
}

// fail counts a client error of a kind, keeping the first few details.
func (st *soakStats) fail(kind string, detail any) {
	st.errors.Add(1)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.kinds == nil {
		st.kinds = map[string]int{}
	}
	st.kinds[kind]++
	if len(st.examples) < 20 {
		st.examples = append(st.examples, fmt.Sprintf("%s %s: %v", time.Now().Format(time.TimeOnly), kind, detail))
	}
}

type soakSample struct {
	at               time.Duration
	rss, anon        int64
	heap, goroutines float64
	m                map[string]float64
}

func sample(p *hubProc, at time.Duration) (soakSample, error) {
	s := soakSample{at: at}
	var err error
	if s.rss, s.anon, err = p.rss(); err != nil {
		return s, err
	}
	if s.m, err = scrapeMetrics(p.metrics); err != nil {
		return s, err
	}
	s.heap, s.goroutines = s.m["go_memstats_heap_alloc_bytes"], s.m["go_goroutines"]
	return s, nil
}

// scrapeMetrics reads the hub's metrics: series (with labels) to value.
func scrapeMetrics(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// cpuSeconds is the CPU time the child used (user + system).
func cpuSeconds(p *hubProc) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, nil // clock ticks (USER_HZ is 100 on Linux)
}

// thirds returns the medians of the first and the last third of the
// samples: a trend that one spike (a GC, a memtable flush) does not make.
func thirds(s []soakSample, f func(soakSample) float64) (first, last float64) {
	n := len(s) / 3
	median := func(part []soakSample) float64 {
		v := make([]float64, len(part))
		for i, x := range part {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return median(s[:n]), median(s[len(s)-n:])
}

func soakTD(i int) []byte {
	id := fmt.Sprintf("urn:soak:%d", i)
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"` + id + `","title":"Soak ` + strconv.Itoa(i) + `",` +
		`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",` +
		`"properties":{"level":{"type":"integer"}},"events":{"reading":{"data":{"type":"object"}}},` +
		`"actions":{"act":{"input":{"type":"object"},"output":{"type":"integer"}}}}`)
}

// jitter returns d ± 20%.
func jitter(d time.Duration) time.Duration { return d*4/5 + rand.N(d*2/5) }

func soakAgent(ctx context.Context, addr string, i int, st *soakStats) {
	id := fmt.Sprintf("soak-agent-%d", i)
	thing := fmt.Sprintf("urn:soak:%d", i)
	requests := make(chan *paho.Publish, 256)
	c, err := connect(ctx, addr, id, func(m *paho.Publish) {
		select {
		case requests <- m:
		default:
		}
	})
	if err != nil {
		st.fail("agent connect", err)
		return
	}
	defer c.Disconnect(&paho.Disconnect{})
	if rc, err := c.pub(ctx, wot.Topic{Kind: wot.TopicAgentTD, AgentID: id, ThingID: thing}.String(), soakTD(i), nil); err != nil || rc != 0 {
		st.fail("agent register", fmt.Sprintf("%s: %#x %v", id, rc, err))
		return
	}
	if err := c.sub(ctx, wot.RequestsTopic(id)); err != nil {
		st.fail("agent subscribe", err)
		return
	}
	go func() {
		for {
			select {
			case m := <-requests:
				if rc, err := c.pub(ctx, wot.RepliesTopic(id), []byte("1"), &paho.PublishProperties{CorrelationData: m.Properties.CorrelationData}); (err != nil || rc != 0) && ctx.Err() == nil {
					st.fail("agent reply", fmt.Sprintf("%s: %#x %v (redelivered %q)", id, rc, err, m.Properties.User.Get(wot.PropRedelivered)))
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	event := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: id, ThingID: thing, Name: "reading"}.String()
	prop := wot.Topic{Kind: wot.TopicAgentProperty, AgentID: id, ThingID: thing, Name: "level"}.String()
	payload := []byte(`{"temperature":21.5,"humidity":40,"note":"` + strings.Repeat("x", 100) + `"}`)
	<-time.After(rand.N(time.Second)) // spread the agents over the second
	evTick, propTick := time.NewTicker(jitter(time.Second)), time.NewTicker(jitter(5*time.Second))
	defer evTick.Stop()
	defer propTick.Stop()
	for n := 0; ; n++ {
		var rc byte
		var err error
		select {
		case <-ctx.Done():
			return
		case <-evTick.C:
			rc, err = c.pub(ctx, event, payload, nil)
			st.events.Add(1)
		case <-propTick.C:
			rc, err = c.pub(ctx, prop, []byte(strconv.Itoa(n)), nil)
			st.values.Add(1)
		}
		if (err != nil || rc != 0) && ctx.Err() == nil {
			st.fail("agent publish", fmt.Sprintf("%s: %#x %v", id, rc, err))
		}
	}
}

func soakConsumer(ctx context.Context, addr string, j, thing int, st *soakStats) {
	id := fmt.Sprintf("soak-app-%d", j)
	action := wot.Topic{Kind: wot.TopicAction, ThingID: fmt.Sprintf("urn:soak:%d", thing), Name: "act"}.String()
	events := wot.EventTopic(fmt.Sprintf("urn:soak:%d", thing), "reading")
	<-time.After(rand.N(20 * time.Second)) // ramp up: the agents first, then the consumers over 20 s
	for ctx.Err() == nil {
		session, cancel := context.WithTimeout(ctx, jitter(90*time.Second))
		soakSession(session, addr, id, action, events, st)
		cancel()
		if ctx.Err() == nil {
			st.reconnects.Add(1)
		}
	}
}

// soakSession is one connection of a consumer, until ctx ends.
func soakSession(ctx context.Context, addr, id, action, events string, st *soakStats) {
	outcomes := make(chan struct{}, 16)
	c, err := connect(ctx, addr, id, func(m *paho.Publish) {
		if m.Properties == nil || !strings.HasPrefix(m.Topic, "replies/") {
			return
		}
		if m.Properties.User.Get(wot.PropError) == string(wot.CodeBusy) {
			return // the refusal of a request (counted from its PUBACK)
		}
		if status := m.Properties.User.Get(wot.PropStatus); status != string(wot.StatusCompleted) {
			st.fail("outcome "+status, fmt.Sprintf("%s: %s %s", id, m.Properties.User.Get(wot.PropError), m.Properties.User.Get(wot.PropMessage)))
		}
		select {
		case outcomes <- struct{}{}:
		default:
		}
	})
	if err != nil {
		if ctx.Err() == nil {
			st.fail("consumer connect", fmt.Sprintf("%s: %v", id, err))
		}
		return
	}
	defer c.Disconnect(&paho.Disconnect{})
	for try := 0; ; try++ {
		err := c.sub(ctx, events, "replies/"+id+"/#")
		var refused *subRefused
		if errors.As(err, &refused) && refused.code == 0x91 && try < 3 {
			// Packet identifier in use: Mochi keeps the IDs of its own
			// messages to a client and the client's IDs in one map, so a
			// message delivered just before the SUBSCRIBE (through the
			// previous connection's subscriptions, not yet removed) can
			// collide. Rare (a few in thousands of reconnects); retry.
			st.subRetries.Add(1)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				st.fail("consumer subscribe", fmt.Sprintf("%s: %v", id, err))
			}
			return
		}
		break
	}
	tick := time.NewTicker(jitter(10 * time.Second))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rc, err := c.pub(ctx, action, []byte(`{"n":`+strconv.Itoa(n)+`}`),
			&paho.PublishProperties{ResponseTopic: "replies/" + id + "/a", CorrelationData: []byte(strconv.Itoa(n)),
				User: paho.UserProperties{{Key: wot.PropReplies, Value: wot.RepliesFinal}}})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			st.fail("consumer invoke", fmt.Sprintf("%s: %v", id, err))
			return
		case rc == wot.ReasonImplementation:
			st.busy.Add(1) // another consumer's request for the action is running
			continue
		case rc != 0:
			st.fail("consumer invoke refused", fmt.Sprintf("%s: %#x", id, rc))
			continue
		}
		st.invoked.Add(1)
		select {
		case <-outcomes:
			st.completed.Add(1)
		case <-time.After(10 * time.Second):
			st.fail("no outcome in 10 s", id)
		case <-ctx.Done():
			return
		}
	}
}

type soakReport struct {
	dur, warm         time.Duration
	agents, consumers int
	samples           []soakSample
	cpu               float64
	st                *soakStats
	failures          []string
}

func (r *soakReport) markdown() string {
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	span := (last.at - first.at).Seconds()
	rate := func(name string) float64 { return (last.m[name] - first.m[name]) / span }
	minmax := func(f func(soakSample) float64) (lo, hi float64) {
		lo, hi = f(first), f(first)
		for _, s := range r.samples {
			lo, hi = min(lo, f(s)), max(hi, f(s))
		}
		return lo, hi
	}
	mib := func(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }
	rssF, rssL := thirds(r.samples, func(s soakSample) float64 { return float64(s.rss) })
	anonF, anonL := thirds(r.samples, func(s soakSample) float64 { return float64(s.anon) })
	heapF, heapL := thirds(r.samples, func(s soakSample) float64 { return s.heap })
	grF, grL := thirds(r.samples, func(s soakSample) float64 { return s.goroutines })
	rssLo, rssHi := minmax(func(s soakSample) float64 { return float64(s.rss) })
	grLo, grHi := minmax(func(s soakSample) float64 { return s.goroutines })
	verdict := "flat: passed"
	if len(r.failures) > 0 {
		verdict = "FAILED: " + strings.Join(r.failures, "; ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Soak: %d clients for %s\n\n", r.agents+r.consumers, r.dur)
	fmt.Fprintf(&b, "`make soak` (reliability.TestSoak), %s, %d CPUs, Go %s, on %s. The hub runs as its own process\n",
		time.Now().UTC().Format(time.DateOnly), runtime.NumCPU(), strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS+"/"+runtime.GOARCH)
	fmt.Fprintf(&b, "(`wotmq serve --dev`, default limits) on loopback; %d agents each publish an event a second and a\n", r.agents)
	fmt.Fprintf(&b, "property value every 5 s and answer actions; %d consumers each follow one Thing's events, invoke\n", r.consumers)
	fmt.Fprintf(&b, "an action every 10 s and reconnect every 1-2 minutes. Figures after %s of warm-up, sampled every\n", r.warm)
	fmt.Fprintf(&b, "10 s (first third and last third: medians).\n\n")
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| result | %s |\n", verdict)
	fmt.Fprintf(&b, "| resident memory (VmRSS) | %s -> %s (min %s, max %s) |\n", mib(rssF), mib(rssL), mib(rssLo), mib(rssHi))
	fmt.Fprintf(&b, "| anonymous memory (RssAnon) | %s -> %s |\n", mib(anonF), mib(anonL))
	fmt.Fprintf(&b, "| Go heap | %s -> %s |\n", mib(heapF), mib(heapL))
	fmt.Fprintf(&b, "| goroutines | %.0f -> %.0f (min %.0f, max %.0f) |\n", grF, grL, grLo, grHi)
	fmt.Fprintf(&b, "| connections | %.0f |\n", last.m["wotmq_connections"])
	fmt.Fprintf(&b, "| PUBLISH in / out | %.0f/s / %.0f/s |\n", rate("wotmq_mqtt_messages_received_total"), rate("wotmq_mqtt_messages_sent_total"))
	fmt.Fprintf(&b, "| events, values, actions completed (whole run) | %d, %d, %d (%d refused busy) |\n",
		r.st.events.Load(), r.st.values.Load(), r.st.completed.Load(), r.st.busy.Load())
	fmt.Fprintf(&b, "| consumer reconnects | %d (%d SUBSCRIBEs retried after 0x91, packet identifier in use) |\n", r.st.reconnects.Load(), r.st.subRetries.Load())
	fmt.Fprintf(&b, "| messages dropped (slow consumers) | %.0f |\n",
		last.m[`wotmq_messages_dropped_total{reason="client_queue_full"}`]+last.m[`wotmq_messages_dropped_total{reason="inflight_full"}`])
	fmt.Fprintf(&b, "| hub CPU | %.0f%% of one core |\n", 100*r.cpu/r.dur.Seconds())
	fmt.Fprintf(&b, "| store on disk at the end | LSM %s, value log %s, memtable logs %s |\n",
		mib(last.m["wotmq_store_lsm_bytes"]), mib(last.m["wotmq_store_vlog_bytes"]), mib(last.m["wotmq_store_wal_bytes"]))
	fmt.Fprintf(&b, "| client errors | %d |\n", r.st.errors.Load())
	return b.String()
}

const (
	soakBegin = "<!-- soak:begin (written by make soak) -->"
	soakEnd   = "<!-- soak:end -->"
)

// writeSection puts text between the soak markers of the file at path,
// appending the section when the file has none, leaving the rest alone.
func writeSection(path, text string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	section := soakBegin + "\n" + text + soakEnd
	if i, j := strings.Index(doc, soakBegin), strings.Index(doc, soakEnd); i >= 0 && j > i {
		doc = doc[:i] + section + doc[j+len(soakEnd):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
