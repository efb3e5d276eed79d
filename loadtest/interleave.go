package loadtest

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Broker is one of the brokers an interleaved run compares.
type Broker struct {
	Label  string `json:"label"`
	Target Target `json:"target"`
	Addr   string `json:"broker"`
	// Pid is the broker's process, whose CPU and memory are measured; 0:
	// the process listening on Addr's port.
	Pid int `json:"pid,omitempty"`
}

// ParseBroker reads "LABEL=TARGET@HOST:PORT" or "LABEL=TARGET@HOST:PORT#PID"
// (TARGET: wotmq or raw).
func ParseBroker(s string) (Broker, error) {
	label, rest, ok := strings.Cut(s, "=")
	target, addr, ok2 := strings.Cut(rest, "@")
	if !ok || !ok2 || label == "" || addr == "" {
		return Broker{}, fmt.Errorf("broker %q: want LABEL=TARGET@HOST:PORT[#PID]", s)
	}
	b := Broker{Label: label, Target: Target(target), Addr: addr}
	if a, pid, ok := strings.Cut(addr, "#"); ok {
		b.Addr = a
		if _, err := fmt.Sscanf(pid, "%d", &b.Pid); err != nil || b.Pid <= 0 {
			return Broker{}, fmt.Errorf("broker %q: bad process ID %q", s, pid)
		}
	}
	if b.Target != TargetWotmq && b.Target != TargetRaw {
		return Broker{}, fmt.Errorf("broker %q: target %q: want wotmq or raw", s, target)
	}
	return b, nil
}

// Trial is one scenario run against one broker in one round.
type Trial struct {
	Label string `json:"label"`
	Round int    `json:"round"`
	Result
}

// Matrix is the outcome of interleaved runs: every scenario against every
// broker in turn (A B C A B C ...), Rounds times, so that a change of the
// machine's load between them shifts every broker alike.
type Matrix struct {
	Started  time.Time `json:"started"`
	Settings Settings  `json:"settings"`
	Rounds   int       `json:"rounds"`
	Brokers  []Broker  `json:"brokers"`
	Runs     []Trial   `json:"runs"`
}

// Interleave runs every scenario against every broker in turn, rounds
// times: for each scenario, round 1 against each broker, then round 2 in
// the reverse order, and so on. The first broker is the subject of the comparison (reports give
// its figures as ratios of the others'). A failed run ends it with an
// error; the Matrix holds the runs until then.
//
// Rounds are numbered from cfg.FirstRound (1 when zero): make bench runs
// the idle shapes round by round on freshly started brokers and merges
// the results.
func Interleave(ctx context.Context, cfg Config, brokers []Broker, scenarios []Scenario, rounds int) (Matrix, error) {
	cfg.setDefaults()
	rounds = max(rounds, 1)
	first := max(cfg.FirstRound, 1)
	mx := Matrix{Started: time.Now().UTC(), Settings: cfg.settings(), Rounds: rounds}
	for _, s := range scenarios {
		if err := s.check(); err != nil {
			return mx, err
		}
	}
	runners := make([]*runner, len(brokers))
	for i, b := range brokers {
		c := cfg
		c.Broker, c.Target, c.Pid = b.Addr, b.Target, b.Pid
		r, err := newRunner(ctx, c)
		if err != nil {
			return mx, fmt.Errorf("%s: %w", b.Label, err)
		}
		runners[i] = r
		b.Pid = r.cfg.Pid
		mx.Brokers = append(mx.Brokers, b)
	}
	for _, s := range scenarios {
		for round := first; round < first+rounds; round++ {
			for k := range runners {
				// Every other round in reverse (A B C, C B A, ...):
				// no broker always runs first, after another's load.
				i := k
				if (round-first)%2 == 1 {
					i = len(runners) - 1 - k
				}
				r := runners[i]
				fmt.Fprintf(cfg.Progress, "round %d, %s: ", round, mx.Brokers[i].Label)
				res, err := r.run(ctx, s)
				if err != nil {
					return mx, fmt.Errorf("%s, round %d: %w", mx.Brokers[i].Label, round, err)
				}
				mx.Runs = append(mx.Runs, Trial{Label: mx.Brokers[i].Label, Round: round, Result: res})
			}
		}
	}
	return mx, nil
}

// MatrixOf turns the report of a run against one broker into a Matrix of
// one round.
func MatrixOf(rep Report) Matrix {
	mx := Matrix{Started: rep.Started, Settings: rep.Settings, Rounds: 1,
		Brokers: []Broker{{Label: rep.Label, Target: rep.Target, Addr: rep.Broker, Pid: rep.Pid}}}
	for _, r := range rep.Results {
		mx.Runs = append(mx.Runs, Trial{Label: rep.Label, Round: 1, Result: r})
	}
	return mx
}

// Merge joins matrices (of the runs make bench makes in several
// processes: the idle scenario on freshly started brokers): brokers by
// label in the order of their first appearance, runs in order.
func Merge(ms ...Matrix) Matrix {
	var out Matrix
	seen := map[string]bool{}
	for i, m := range ms {
		if i == 0 {
			out.Started, out.Settings = m.Started, m.Settings
		}
		out.Rounds = max(out.Rounds, m.Rounds)
		for _, b := range m.Brokers {
			if !seen[b.Label] {
				seen[b.Label] = true
				out.Brokers = append(out.Brokers, b)
			}
		}
		out.Runs = append(out.Runs, m.Runs...)
	}
	return out
}
