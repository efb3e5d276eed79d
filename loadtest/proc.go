package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoProcess is returned when the broker's process cannot be found or
// read (another user's process, or not Linux).
var ErrNoProcess = errors.New("loadtest: broker process not found")

// clockTicks is USER_HZ, the unit of /proc/{pid}/stat CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procSample is one reading of a process's CPU time and resident memory.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system
	rss int64         // bytes
}

// readProc reads /proc/{pid}/stat and /proc/{pid}/status.
func readProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrNoProcess, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("%w: /proc/%d/stat: no command name", ErrNoProcess, pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("%w: /proc/%d/stat: %d fields", ErrNoProcess, pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("%w: /proc/%d/stat: bad CPU times", ErrNoProcess, pid)
	}
	s.cpu = time.Duration(utime+stime) * time.Second / clockTicks

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrNoProcess, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return s, fmt.Errorf("%w: /proc/%d/status: VmRSS %q", ErrNoProcess, pid, rest)
			}
			s.rss = kb << 10
			return s, nil
		}
	}
	return s, fmt.Errorf("%w: /proc/%d/status: no VmRSS", ErrNoProcess, pid)
}

// cpuPercent is the CPU the process used between two samples, in percent
// of one core (200 is two cores busy).
func cpuPercent(a, b procSample) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.cpu-a.cpu) / float64(wall)
}

// FindListener returns the ID of the process that listens on TCP port
// (IPv4 or IPv6), from /proc/net/tcp{,6} and the socket links in
// /proc/*/fd. It only sees processes the caller may inspect.
func FindListener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(p) == port && fs[9] != "0" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("%w: nothing listens on port %d", ErrNoProcess, port)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && inodes[link] {
			pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
			if err == nil {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: no visible process holds the socket listening on port %d", ErrNoProcess, port)
}

// procWatch samples a process's resident memory during a measurement and
// its CPU time at the start and the end.
type procWatch struct {
	pid   int
	first procSample
	peak  int64
	stop  chan struct{}
	done  chan struct{}
}

// watchProc starts sampling pid every interval; pid <= 0 watches nothing.
func watchProc(pid int, interval time.Duration) *procWatch {
	w := &procWatch{pid: pid, peak: -1, stop: make(chan struct{}), done: make(chan struct{})}
	if pid <= 0 {
		close(w.done)
		return w
	}
	s, err := readProc(pid)
	if err != nil {
		w.pid = 0
		close(w.done)
		return w
	}
	w.first, w.peak = s, s.rss
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if s, err := readProc(pid); err == nil {
					w.peak = max(w.peak, s.rss)
				}
			}
		}
	}()
	return w
}

// finish stops sampling and returns the CPU percentage since the start and
// the peak resident memory; -1 for each when the process could not be read.
func (w *procWatch) finish() (cpu float64, rss int64) {
	if w.pid <= 0 {
		<-w.done
		return -1, -1
	}
	close(w.stop)
	<-w.done
	last, err := readProc(w.pid)
	if err != nil {
		return -1, w.peak
	}
	return cpuPercent(w.first, last), max(w.peak, last.rss)
}

// finishTime stops sampling and returns the CPU time the process used
// since the start and the peak resident memory; -1 for each when the
// process could not be read.
func (w *procWatch) finishTime() (cpu time.Duration, rss int64) {
	if w.pid <= 0 {
		<-w.done
		return -1, -1
	}
	close(w.stop)
	<-w.done
	last, err := readProc(w.pid)
	if err != nil {
		return -1, w.peak
	}
	return last.cpu - w.first.cpu, max(w.peak, last.rss)
}
