package clustertest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
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
	read := make(chan struct{})
	go func() {
		p.read(r)
		close(read)
	}()
	go func() {
		err := cmd.Wait()
		w.Close()
		<-read // every line it printed is in lines and tail once it exited
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
		line, changed, exited := p.find(s)
		if line != "" {
			return line
		}
		select {
		case <-changed:
		case <-exited:
			p.exitedBefore(p.t, s)
		case <-deadline:
			p.t.Fatalf("%s did not print %q within %s\n%s", p.Name, s, bound, p.Tail())
		}
	}
}

// find is the first line of the current run containing s ("" when none
// yet), with the channels closed when another line comes and when the
// process exits.
func (p *Proc) find(s string) (line string, changed, exited <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			return l, p.changed, p.exited
		}
	}
	return "", p.changed, p.exited
}

// exitedBefore fails t: the process exited before printing s.
func (p *Proc) exitedBefore(t testing.TB, s string) {
	t.Helper()
	p.mu.Lock()
	err := p.waitErr
	p.mu.Unlock()
	t.Fatalf("%s exited (%v) before printing %q\n%s", p.Name, err, s, p.Tail())
}

// WaitLineAll waits until each of ps has printed a line containing s, and
// returns those lines, by process. It fails the test as soon as one of
// them exits first (the others would wait for it in vain: a cluster node
// is not ready without its peers), or when the bound passes.
func WaitLineAll(t testing.TB, ps []*Proc, s string, bound time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(bound)
	lines := make([]string, len(ps))
	for {
		var missing []string
		for i, p := range ps {
			if lines[i] != "" {
				continue
			}
			line, _, exited := p.find(s)
			if line != "" {
				lines[i] = line
				continue
			}
			select {
			case <-exited:
				p.exitedBefore(t, s)
			default:
			}
			missing = append(missing, p.Name)
		}
		if len(missing) == 0 {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s", strings.Join(missing, ", "), s, bound)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an event
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
// cannot be ephemeral ports chosen by the nodes themselves. They are
// taken below the kernel's ephemeral range (ip_local_port_range) where
// it can be read: there no outgoing connection or listener on port 0 of
// a test running beside this one is given one of them while the nodes
// start (an ephemeral port was, once, on the CI machine). A node that
// loses its port all the same exits at start, naming it.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	low := ephemeralLow()
	var ls []net.Listener
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		port := 0 // the kernel's choice, when no range below is known
		if low-minFreePort > 4*n && tries < 1000 {
			port = minFreePort + rand.IntN(low-minFreePort)
		}
		if seen[port] && port != 0 {
			continue
		}
		l, err := net.Listen("tcp", Addr(port))
		if err != nil {
			if port == 0 {
				t.Fatal(err)
			}
			continue // taken: another
		}
		ls = append(ls, l)
		port = l.Addr().(*net.TCPAddr).Port
		seen[port] = true
		ports = append(ports, port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// minFreePort is the lowest port FreePorts picks: above the well-known
// and most registered services' ports.
const minFreePort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range, or 0
// when it cannot be read (not Linux).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return low
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
