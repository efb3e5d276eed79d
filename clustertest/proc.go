package clustertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds the wait for a child's ready line: generous, since
// a JetStream node recovers its streams before it is ready and the test
// machine may be busy.
const StartTimeout = 60 * time.Second

// Proc is a child process of a test.
type Proc struct {
	t    testing.TB
	Name string
	bin  string
	args []string
	env  []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	tail    []string
	lines   []string // every line of the current run, for WaitLine
	changed chan struct{}
}

// Start runs bin with args (and env added to the test's environment),
// and returns once a line of its combined output contains ready (or at
// once when ready is empty). The process is killed when the test ends.
func Start(t testing.TB, name, bin string, env []string, ready string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, Name: name, bin: bin, args: args, env: env}
	p.run(ready)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output (last lines):\n%s", p.Name, p.Tail())
		}
	})
	return p
}

func (p *Proc) run(ready string) {
	p.t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(cmd.Environ(), p.env...)
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: %v", p.Name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.lines, p.changed = cmd, exited, nil, make(chan struct{})
	p.mu.Unlock()
	go p.read(r)
	go func() {
		err := cmd.Wait()
		w.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	if ready != "" {
		p.WaitLine(ready, StartTimeout)
	}
}

func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 80 {
			p.tail = p.tail[len(p.tail)-80:]
		}
		p.lines = append(p.lines, line)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

// WaitLine waits until a line of the current run contains s and returns
// it. It fails the test when the process exits first or the bound passes.
func (p *Proc) WaitLine(s string, bound time.Duration) string {
	p.t.Helper()
	deadline := time.After(bound)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return l
			}
		}
		changed, exited := p.changed, p.exited
		p.mu.Unlock()
		select {
		case <-changed:
		case <-exited:
			p.mu.Lock()
			err := p.waitErr
			p.mu.Unlock()
			p.t.Fatalf("%s exited (%v) before printing %q\n%s", p.Name, err, s, p.Tail())
		case <-deadline:
			p.t.Fatalf("%s did not print %q within %s\n%s", p.Name, s, bound, p.Tail())
		}
	}
}

// Count is how many lines of the current run so far contain s.
func (p *Proc) Count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart runs the same command line again (after Kill) and waits for
// ready as Start does.
func (p *Proc) Restart(ready string) {
	p.t.Helper()
	p.Kill()
	p.mu.Lock()
	p.tail = append(p.tail, "--- restart ---")
	p.mu.Unlock()
	p.run(ready)
}

// Tail is the last lines the process printed, across restarts.
func (p *Proc) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// FreePorts returns n distinct loopback ports that were free a moment
// ago. Route addresses must be known before the nodes start, so they
// cannot be ephemeral ports chosen by the nodes themselves; the window in
// which another process could take one is small, and a node that loses
// its port exits at start, which fails the test loudly.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
