package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target says which topic scheme the load uses.
type Target string

// Targets.
const (
	// TargetWotmq drives a wotmq hub the way agents and consumers do:
	// agents register a Thing and publish on agents/{a}/things/{id}/...,
	// consumers subscribe to the twin topics and invoke actions.
	TargetWotmq Target = "wotmq"
	// TargetRaw sends the same traffic on plain topics, for any broker:
	// the baseline of a broker that only relays.
	TargetRaw Target = "raw"
)

// Kind is a kind of scenario.
type Kind string

// Scenario kinds.
const (
	// FanIn: Agents agents publish events; each of Consumers consumers
	// receives every event. At QoS 0 the agents publish as fast as their
	// connection takes it (they do not wait for anything); at QoS 1 each
	// has InFlight publishes awaiting PUBACK.
	FanIn Kind = "fan-in"
	// FanOut: one agent publishes events, as FanIn; each of Consumers
	// consumers receives every one.
	FanOut Kind = "fan-out"
	// Action: Concurrency consumers, a Thing each, invoke an action in a
	// loop, one request at a time each; one agent answers every request.
	Action Kind = "action"
	// Idle: Agents connections that send nothing but keep-alive (one
	// PINGREQ each during the measurement, whose answer shows the broker
	// does not stall); what they cost the broker in resident memory.
	Idle Kind = "idle"
)

// Scenario is one bounded load.
type Scenario struct {
	Kind        Kind
	Agents      int  // FanIn: publishing connections; Idle: connections
	Consumers   int  // FanIn, FanOut: subscribers
	Concurrency int  // Action: round trips in flight
	QoS         byte // FanIn, FanOut: QoS of the publishes and subscriptions
	Payload     int  // FanIn, FanOut: event payload bytes; Config.Payload when zero
}

// Name describes the scenario in reports, e.g. "events q0 8->8 64 B".
func (s Scenario) Name() string {
	switch s.Kind {
	case FanIn:
		return fmt.Sprintf("events q%d %d->%d %s", s.QoS, s.Agents, s.Consumers, sizeName(s.Payload))
	case FanOut:
		return fmt.Sprintf("events q%d 1->%d %s", s.QoS, s.Consumers, sizeName(s.Payload))
	case Action:
		return fmt.Sprintf("actions %d", s.Concurrency)
	case Idle:
		return fmt.Sprintf("idle %d", s.Agents)
	}
	return string(s.Kind)
}

// sizeName is a payload size for names: "64 B", "1 KiB"; "" when unset.
func sizeName(n int) string {
	switch {
	case n <= 0:
		return "64 B"
	case n%1024 == 0:
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func (s Scenario) check() error {
	bad := func(what string) error { return fmt.Errorf("loadtest: %s: %s", s.Kind, what) }
	switch s.Kind {
	case FanIn:
		if s.Agents < 1 || s.Consumers < 1 {
			return bad("needs at least one agent and one consumer")
		}
	case FanOut:
		if s.Consumers < 1 {
			return bad("needs at least one consumer")
		}
	case Action:
		if s.Concurrency < 1 {
			return bad("needs a concurrency of at least 1")
		}
	case Idle:
		if s.Agents < 1 {
			return bad("needs at least one connection")
		}
	default:
		return fmt.Errorf("loadtest: unknown scenario %q", s.Kind)
	}
	if s.QoS > 1 {
		return bad("QoS 0 or 1")
	}
	return nil
}

// Config says where and how hard to load. The zero value of every field
// but Broker has a default.
type Config struct {
	// Broker is the MQTT over TCP address, host:port.
	Broker string
	// Target is the topic scheme; TargetWotmq when empty.
	Target Target
	// Username and Password, when set, are sent by every client (a wotmq
	// hub then knows every agent and consumer by that account). Without
	// them clients are named by their client IDs, as a wotmq hub in
	// development mode does.
	Username, Password string
	// Prefix starts every client ID and Thing ID; "bench" when empty.
	Prefix string
	// Keep leaves the Things the agents registered, and their unfinished
	// requests, in the hub; without it each agent deletes its Things
	// before it disconnects (TargetWotmq).
	Keep bool
	// Duration is how long each scenario is measured; 10 s when zero.
	Duration time.Duration
	// Warmup runs each scenario's load unmeasured first; 2 s when zero,
	// none when negative.
	Warmup time.Duration
	// Count bounds the messages (round trips for Action) sent during each
	// measurement; no bound when zero.
	Count int64
	// Payload is the size of event payloads in bytes; 64 when zero.
	Payload int
	// Window, when above zero, bounds the events of FanIn and FanOut
	// published but not yet received by every consumer; no bound when
	// zero (the shapes of make bench: publishers do not wait for
	// consumers).
	Window int
	// InFlight is how many QoS 1 publishes each FanIn and FanOut agent has
	// waiting for their acknowledgement at once; 1 when zero.
	InFlight int
	// KeepAlive is every client's MQTT keep-alive; 30 s when zero.
	KeepAlive time.Duration
	// Timeout bounds every connect, subscribe, publish and round trip; 5 s
	// when zero.
	Timeout time.Duration
	// Wait is how long to wait for the broker to accept connections before
	// the first scenario; no waiting when zero.
	Wait time.Duration
	// Drain is how long to wait after a measurement for the messages still
	// on their way; 5 s when zero. It ends sooner once all arrived, or at
	// QoS 0 when none arrived for a second (brokers may drop them).
	Drain time.Duration
	// Pid is the broker's process ID, whose CPU and memory are reported;
	// when zero it is found from the port, if the broker runs on this
	// machine and the caller may inspect it.
	Pid int
	// DialConcurrency is how many clients connect at once; 64 when zero.
	DialConcurrency int
	// FirstRound is the number of the first round of Interleave; 1 when
	// zero.
	FirstRound int
	// Progress, when set, receives a line for every step.
	Progress io.Writer
}

func (c *Config) setDefaults() {
	if c.Target == "" {
		c.Target = TargetWotmq
	}
	if c.Prefix == "" {
		c.Prefix = "bench"
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	c.Warmup = max(c.Warmup, 0)
	if c.Count <= 0 {
		c.Count = math.MaxInt64
	}
	if c.Payload <= 0 {
		c.Payload = 64
	}
	c.Window = max(c.Window, 0)
	if c.InFlight <= 0 {
		c.InFlight = 1
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = 64
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Latency holds percentiles in microseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Result is what one scenario measured.
type Result struct {
	Scenario string `json:"scenario"`
	Kind     Kind   `json:"kind"`
	QoS      byte   `json:"qos,omitempty"`
	// Seconds is the length of the measurement window.
	Seconds float64 `json:"seconds"`
	// Sent counts the events published (QoS 1: acknowledged), the round
	// trips started, or the PINGREQs of Idle, from the warm-up to the
	// end of the window: publishers that do not wait queue up events
	// ahead of the window's, which are lost or not as any other.
	Sent int64 `json:"sent"`
	// Expected counts the deliveries they should make (Sent times the
	// consumers); Received those that arrived, also after the window (the
	// drain); Drops the difference: lost messages.
	Expected int64 `json:"expected"`
	Received int64 `json:"received"`
	Drops    int64 `json:"drops"`
	// Errors counts refused publishes, failed replies and lost
	// connections.
	Errors int64 `json:"errors"`
	// FirstError describes the first of them.
	FirstError string `json:"firstError,omitempty"`
	// Rate is deliveries to consumers (round trips completed) within the
	// measurement window, per second: warm-up messages delivered in the
	// window count, measured ones delivered after it do not, so the
	// figure is what the broker delivered while its CPU was measured.
	Rate float64 `json:"msgsPerSec"`
	// Latency is publish to delivery for events (time stamps in the
	// payload), request to final reply for actions, PINGREQ to PINGRESP
	// for Idle.
	Latency Latency `json:"latencyMicros"`
	// CPU is the broker process's CPU use in percent of one core in the
	// window, RSS its peak resident memory in bytes; -1 when unknown.
	CPU float64 `json:"brokerCPUPercent"`
	RSS int64   `json:"brokerRSSBytes"`
	// CPUPerMsg is the broker's CPU time (utime+stime of /proc/PID/stat)
	// in the window divided by the deliveries (round trips) in it, in
	// microseconds; -1 when unknown.
	CPUPerMsg float64 `json:"brokerCPUMicrosPerMsg"`
	// ClientCPU is the load tool's own CPU use, in percent of one core.
	ClientCPU float64 `json:"clientCPUPercent"`
	// LoadAvg is /proc/loadavg's one-minute figure as the measurement
	// began.
	LoadAvg string `json:"loadAvg,omitempty"`
	// Idle: Conns connections held, the broker's resident memory before
	// they connected (RSSBefore) and with them all connected and pinged
	// (RSS), PerConn the difference per connection in bytes, and
	// ConnectSeconds how long connecting them all took.
	Conns          int     `json:"conns,omitempty"`
	RSSBefore      int64   `json:"brokerRSSBeforeBytes,omitempty"`
	PerConn        float64 `json:"bytesPerConn,omitempty"`
	ConnectSeconds float64 `json:"connectSeconds,omitempty"`
}

// Report is a run of scenarios against one broker.
type Report struct {
	Label   string    `json:"label"`
	Target  Target    `json:"target"`
	Broker  string    `json:"broker"`
	Pid     int       `json:"pid,omitempty"`
	Started time.Time `json:"started"`
	// LoadAvg is /proc/loadavg's one-minute figure before and after.
	LoadAvg  [2]string `json:"loadAvg"`
	Settings Settings  `json:"settings"`
	Results  []Result  `json:"results"`
}

// Settings are the Config values that shape the figures.
type Settings struct {
	Duration string `json:"duration"`
	Warmup   string `json:"warmup"`
	Count    int64  `json:"count,omitempty"`
	Payload  int    `json:"payload"`
	Window   int    `json:"window"`
	InFlight int    `json:"inFlight"`
}

// Run runs the scenarios one after the other against cfg.Broker. A
// scenario that cannot set up (a refused connection, a refused TD) ends
// the run with an error; Report holds the scenarios run until then.
func Run(ctx context.Context, cfg Config, scenarios []Scenario) (rep Report, err error) {
	cfg.setDefaults()
	rep = Report{Target: cfg.Target, Broker: cfg.Broker, Started: time.Now().UTC(), LoadAvg: [2]string{loadAvg(), ""},
		Settings: cfg.settings()}
	defer func() { rep.LoadAvg[1] = loadAvg() }()
	for _, s := range scenarios {
		if err := s.check(); err != nil {
			return rep, err
		}
	}
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return rep, err
	}
	rep.Pid = r.cfg.Pid
	for _, s := range scenarios {
		res, err := r.run(ctx, s)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

func (c Config) settings() Settings {
	st := Settings{Duration: c.Duration.String(), Warmup: c.Warmup.String(), Payload: c.Payload, Window: c.Window, InFlight: c.InFlight}
	if c.Count < math.MaxInt64 {
		st.Count = c.Count
	}
	return st
}

// newRunner checks cfg (with its defaults set), waits for the broker and
// finds its process.
func newRunner(ctx context.Context, cfg Config) (*runner, error) {
	if cfg.Target != TargetWotmq && cfg.Target != TargetRaw {
		return nil, fmt.Errorf("loadtest: unknown target %q (want %s or %s)", cfg.Target, TargetWotmq, TargetRaw)
	}
	if _, err := RaiseFileLimit(); err != nil {
		fmt.Fprintf(cfg.Progress, "cannot raise the open file limit: %v\n", err)
	}
	if cfg.Wait > 0 {
		if err := waitListening(ctx, cfg.Broker, cfg.Wait); err != nil {
			return nil, err
		}
	}
	if cfg.Pid == 0 {
		if _, port, err := net.SplitHostPort(cfg.Broker); err == nil {
			if p, err := strconv.Atoi(port); err == nil {
				cfg.Pid, _ = FindListener(p)
			}
		}
	}
	return &runner{cfg: cfg, sh: shape{target: cfg.Target}, epoch: time.Now()}, nil
}

// run runs one scenario.
func (r *runner) run(ctx context.Context, s Scenario) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	fmt.Fprintf(r.cfg.Progress, "%s: %s\n", s.Name(), "setting up")
	var res Result
	var err error
	switch s.Kind {
	case Action:
		res, err = r.runAction(ctx, s)
	case Idle:
		res, err = r.runIdle(ctx, s)
	default:
		if s.Payload <= 0 {
			s.Payload = r.cfg.Payload
		}
		res, err = r.runEvents(ctx, s)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.Name(), err)
	}
	return res, nil
}

// waitListening polls until addr accepts TCP connections or wait passes.
func waitListening(ctx context.Context, addr string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadtest: %s does not accept connections after %v: %w", addr, wait, err)
		case <-t.C:
		}
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// runner holds what the scenarios of one run share.
type runner struct {
	cfg   Config
	sh    shape
	epoch time.Time // payload time stamps count from here
}

// now is the time since the run began, for payload time stamps.
func (r *runner) now() int64 { return int64(time.Since(r.epoch)) }

// name is a client or Thing ID of this run: prefix-part.
func (r *runner) name(part string) string { return r.cfg.Prefix + "-" + part }

// Measurement phases.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDone
)

// meter counts one scenario's traffic. Senders call take before each
// message; receivers call delivered for each one.
type meter struct {
	phase    atomic.Int32
	budget   atomic.Int64 // measured messages left to send
	sent     atomic.Int64
	expected atomic.Int64
	received atomic.Int64
	inWindow atomic.Int64 // deliveries (round trips) completed in the window
	errs     atomic.Int64
	lat      Histogram

	errMu    sync.Mutex
	firstErr error

	stopOnce  sync.Once
	stopped   chan struct{} // closed when sending ends
	measuring chan struct{} // closed when the measurement begins
}

func newMeter(budget int64) *meter {
	m := &meter{stopped: make(chan struct{}), measuring: make(chan struct{})}
	m.budget.Store(budget)
	return m
}

// take says whether a sender may send one more message and whether it is
// measured. It returns ok false once the measurement ended or its count
// is used up.
func (m *meter) take() (measured, ok bool) {
	switch m.phase.Load() {
	case phaseWarmup:
		return false, true
	case phaseMeasure:
		if m.budget.Add(-1) >= 0 {
			return true, true
		}
		m.stop()
	}
	return false, false
}

// stop ends sending.
func (m *meter) stop() {
	m.stopOnce.Do(func() {
		m.phase.Store(phaseDone)
		close(m.stopped)
	})
}

// fail counts an error and keeps the first.
func (m *meter) fail(err error) {
	m.errs.Add(1)
	m.errMu.Lock()
	if m.firstErr == nil {
		m.firstErr = err
	}
	m.errMu.Unlock()
}

// delivered counts a delivery (a completed round trip), and one in the
// window while the measurement runs.
func (m *meter) delivered() {
	if m.phase.Load() == phaseMeasure {
		m.inWindow.Add(1)
	}
	m.received.Add(1)
}

// measure runs the warm-up, the measurement and the drain of a scenario
// whose senders and receivers already run, and returns its result.
// senders is waited for after sending stops.
func (r *runner) measure(ctx context.Context, s Scenario, m *meter, senders *sync.WaitGroup, warmup time.Duration) Result {
	p := r.cfg.Progress
	if warmup > 0 {
		fmt.Fprintf(p, "%s: warming up for %v\n", s.Name(), warmup)
		wait(ctx, warmup, nil)
	}
	fmt.Fprintf(p, "%s: measuring for %v\n", s.Name(), r.cfg.Duration)
	load := loadAvg()
	broker := watchProc(r.cfg.Pid, 250*time.Millisecond)
	self := watchProc(os.Getpid(), time.Hour)
	start := time.Now()
	m.phase.Store(phaseMeasure)
	close(m.measuring)
	wait(ctx, r.cfg.Duration, m.stopped)
	m.stop()
	window := time.Since(start)
	inWindow := m.inWindow.Load()
	cpuTime, rss := broker.finishTime()
	clientCPU, _ := self.finish()
	senders.Wait()

	// Let the messages on their way arrive: until all did, or Drain
	// passed, or at QoS 0 (which brokers may drop) none arrived for a
	// second.
	deadline := time.Now().Add(r.cfg.Drain)
	t := time.NewTicker(20 * time.Millisecond)
	last, lastAt := m.received.Load(), time.Now()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		n := m.received.Load()
		if n >= m.expected.Load() {
			break
		}
		if n != last {
			last, lastAt = n, time.Now()
		} else if s.QoS == 0 && s.Kind != Action && s.Kind != Idle && time.Since(lastAt) > time.Second {
			break
		}
		<-t.C
	}
	t.Stop()

	res := Result{
		Scenario: s.Name(), Kind: s.Kind, QoS: s.QoS, Seconds: window.Seconds(),
		Sent: m.sent.Load(), Expected: m.expected.Load(), Received: m.received.Load(),
		Errors: m.errs.Load(), CPU: -1, RSS: rss, CPUPerMsg: -1, ClientCPU: clientCPU, LoadAvg: load,
		Rate: float64(inWindow) / window.Seconds(),
		Latency: Latency{
			P50: micros(m.lat.Quantile(0.50)), P90: micros(m.lat.Quantile(0.90)),
			P99: micros(m.lat.Quantile(0.99)), Max: micros(m.lat.Max()),
		},
	}
	if cpuTime >= 0 {
		res.CPU = 100 * cpuTime.Seconds() / window.Seconds()
		if inWindow > 0 {
			res.CPUPerMsg = micros(cpuTime) / float64(inWindow)
		}
	}
	res.Drops = max(res.Expected-res.Received, 0)
	m.errMu.Lock()
	if m.firstErr != nil {
		res.FirstError = m.firstErr.Error()
	}
	m.errMu.Unlock()
	return res
}

// wait returns after d, when done is closed, or when ctx ends.
func wait(ctx context.Context, d time.Duration, done <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	case <-ctx.Done():
	}
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// errorOf formats a setup failure.
func errorOf(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
