package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMain removes the binary built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	binFlags  string // the serve usage, to tell which flags the binary has
	buildErr  error
)

// wotmqBin returns the wotmq binary under test: WOTMQ_BIN, or one built
// from this module once per test run.
func wotmqBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = os.Getenv("WOTMQ_BIN")
		if binPath == "" {
			dir, err := os.MkdirTemp("", "wotmq-reliability-")
			if err != nil {
				buildErr = err
				return
			}
			buildDir, binPath = dir, filepath.Join(dir, "wotmq")
			gocmd, err := exec.LookPath("go")
			if err != nil {
				gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
			}
			out, err := exec.Command(gocmd, "build", "-o", binPath, "github.com/wotmq/wotmq/cmd/wotmq").CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build: %v\n%s", err, out)
				return
			}
		}
		out, _ := exec.Command(binPath, "serve", "-h").CombinedOutput()
		binFlags = string(out)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// hubProc is a hub running as a child process.
type hubProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	mqtt    string // MQTT address
	metrics string // metrics address ("" when off)
	exited  chan struct{}
	waitErr error

	mu   sync.Mutex
	tail []string // the last log lines, for failure reports
}

// startProc starts wotmq serve in development mode on loopback with its
// data in dir, plus extra flags, and returns once it serves.
func startProc(t *testing.T, dir string, extra ...string) *hubProc {
	t.Helper()
	bin := wotmqBin(t)
	args := []string{"serve", "--dev", "--data", dir, "--mqtt-addr", "127.0.0.1:0", "--ws-addr", "off",
		"--metrics-addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "info"}
	for _, f := range []string{"http-addr", "https-addr"} { // the HTTP binding's listeners, when the binary has them
		if strings.Contains(binFlags, "-"+f+" ") {
			args = append(args, "--"+f, "off")
		}
	}
	if strings.Contains(binFlags, "-mdns\n") {
		args = append(args, "--mdns=false")
	}
	p := &hubProc{t: t, cmd: exec.Command(bin, append(args, extra...)...), exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go p.readLog(stderr, started)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("hub log (last lines):\n%s", p.lastLines())
		}
	})
	select {
	case <-started:
	case <-p.exited:
		t.Fatalf("hub exited at start: %v\n%s", p.waitErr, p.lastLines())
	case <-time.After(30 * time.Second):
		t.Fatalf("hub did not start within 30s\n%s", p.lastLines())
	}
	return p
}

// readLog keeps the tail of the hub's JSON log and notes its addresses.
func (p *hubProc) readLog(r io.Reader, started chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 50 {
			p.tail = p.tail[len(p.tail)-50:]
		}
		p.mu.Unlock()
		var rec struct {
			Message string `json:"message"`
			MQTT    string `json:"mqtt"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch rec.Message {
		case "metrics serving":
			p.metrics = rec.Addr
		case "hub started":
			p.mqtt = rec.MQTT
			close(started)
		}
	}
}

func (p *hubProc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// kill ends the hub with SIGKILL and waits until it is gone.
func (p *hubProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.t.Fatal("killed hub still running")
	}
}

// stop ends the hub with SIGTERM and checks that it exits cleanly.
func (p *hubProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			p.t.Errorf("hub exit: %v\n%s", p.waitErr, p.lastLines())
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("hub did not stop within 30s")
	}
}

// rss is the child's resident memory and its anonymous part, in bytes
// (Linux /proc).
func (p *hubProc) rss() (total, anon int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			total = kb << 10
		case "RssAnon:":
			anon = kb << 10
		}
	}
	return total, anon, nil
}

// mqttClient is a paho client whose received messages queue up.
type mqttClient struct {
	*paho.Client
	id   string
	msgs chan *paho.Publish
}

// connect dials the hub as id (the anonymous development identity), with
// a handler for received messages (nil: queue them in msgs).
func connect(ctx context.Context, addr, id string, onMsg func(*paho.Publish)) (*mqttClient, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &mqttClient{id: id, msgs: make(chan *paho.Publish, 4096)}
	if onMsg == nil {
		onMsg = func(m *paho.Publish) {
			select {
			case c.msgs <- m:
			default:
			}
		}
	}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id, Conn: conn, OnClientError: func(error) {},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onMsg(pr.Packet)
			return true, nil
		}},
	})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// pub publishes with QoS 1 and returns the PUBACK reason code.
func (c *mqttClient) pub(ctx context.Context, topic string, payload []byte, props *paho.PublishProperties) (byte, error) {
	resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if resp != nil { // paho returns an error beside a refusal's PUBACK
		return resp.ReasonCode, nil
	}
	return 0, err
}

func (c *mqttClient) sub(ctx context.Context, filters ...string) error {
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	sa, err := c.Subscribe(ctx, s)
	if sa == nil {
		return err
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 {
			return &subRefused{filter: filters[i], code: rc}
		}
	}
	return nil
}

// subRefused is a SUBACK refusal.
type subRefused struct {
	filter string
	code   byte
}

func (e *subRefused) Error() string {
	return fmt.Sprintf("subscribe %s refused: %#x", e.filter, e.code)
}

// next returns the next queued message on topic.
func (c *mqttClient) next(ctx context.Context, topic string) (*paho.Publish, error) {
	for {
		select {
		case m := <-c.msgs:
			if m.Topic == topic {
				return m, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no message on %s: %w", c.id, topic, ctx.Err())
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
