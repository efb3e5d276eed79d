package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Markers around the generated section of a Markdown document; Splice
// replaces what is between them and leaves the rest of the document alone.
const (
	BeginMarker = "<!-- bench:begin -->"
	EndMarker   = "<!-- bench:end -->"
)

// WriteTable prints a report as an aligned text table.
func WriteTable(w io.Writer, rep Report) error {
	return WriteTrials(w, MatrixOf(rep))
}

// WriteTrials prints every run of a matrix as a line of an aligned text
// table.
func WriteTrials(w io.Writer, mx Matrix) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tbroker\tround\tmsgs/s\tp50\tp99\tmax\tsent\tlost\terrors\tbroker CPU\tCPU/msg\tbroker RSS\tclient CPU\tload\t\n")
	for _, r := range mx.Runs {
		perMsg := "–"
		if r.CPUPerMsg >= 0 {
			perMsg = fmt.Sprintf("%.1f µs", r.CPUPerMsg)
		}
		if r.Kind == Idle && r.Conns > 0 {
			perMsg = fmt.Sprintf("%.1f KiB/conn", r.PerConn/1024)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Label, r.Round, fmtRate(r.Rate),
			fmtMicros(r.Latency.P50), fmtMicros(r.Latency.P99), fmtMicros(r.Latency.Max),
			r.Sent, r.Drops, r.Errors, fmtCPU(r.CPU), perMsg, fmtBytes(r.RSS), fmtCPU(r.ClientCPU), orDash(r.LoadAvg))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range mx.Runs {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s (%s, round %d): %d errors, the first: %s\n", r.Scenario, r.Label, r.Round, r.Errors, r.FirstError)
		}
	}
	return nil
}

// Machine describes the computer a comparison ran on.
type Machine struct {
	CPUs    int
	Model   string
	Memory  int64 // bytes
	Kernel  string
	Go      string
	LoadAvg string // /proc/loadavg's one-minute figure
}

// ThisMachine reads the machine's description from /proc.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadAvg: loadAvg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				m.Memory = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// Splice puts section (which starts with BeginMarker and ends with
// EndMarker) into doc: in place of the text between the markers when doc
// has them, else at the end. An empty doc gets a title.
func Splice(doc, section []byte) []byte {
	i := bytes.Index(doc, []byte(BeginMarker))
	if i >= 0 {
		if j := bytes.Index(doc[i:], []byte(EndMarker)); j >= 0 {
			end := i + j + len(EndMarker)
			if end < len(doc) && doc[end] == '\n' {
				end++
			}
			out := append([]byte{}, doc[:i]...)
			out = append(out, section...)
			return append(out, doc[end:]...)
		}
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return append([]byte("# Benchmarks\n\n"), section...)
	}
	out := append([]byte{}, doc...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	out = append(out, '\n')
	return append(out, section...)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func fmtMicros(us float64) string {
	switch {
	case us <= 0 || math.IsNaN(us):
		return "–"
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.2f s", us/1e6)
}

func fmtRate(r float64) string {
	if r <= 0 || math.IsNaN(r) {
		return "–"
	}
	s := strconv.FormatInt(int64(r+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func fmtCPU(p float64) string {
	if p < 0 || math.IsNaN(p) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", p)
}

func fmtBytes(n int64) string {
	switch {
	case n < 0:
		return "–"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
