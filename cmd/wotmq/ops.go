package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/twin"
)

// opsFlags binds the serve flags of limits, metrics and backups (see
// docs/operations.md). Limits given as 0 are off.
func opsFlags(fs *flag.FlagSet, m *Main) {
	o := &m.Options
	fs.StringVar(&o.MetricsAddr, "metrics-addr", hub.DefaultMetricsAddr, "Prometheus /metrics, /healthz and /readyz listen address, unauthenticated: loopback unless you put it elsewhere on purpose (\"off\" to disable)")
	fs.StringVar(&o.BackupDir, "backup-dir", "", "directory where the backup admin operation writes (default: DATA/backups)")
	l := &o.Limits
	l.MaxConnections, l.MaxThingsPerAgent, l.MaxHistory, l.ClientQueue = hub.DefaultMaxConnections, hub.DefaultMaxThingsPerAgent, hub.DefaultMaxHistory, hub.DefaultClientQueue
	fs.Var(limit{&l.MaxConnections}, "max-connections", "most clients connected at once; more are refused with CONNACK 0x89 (0: no limit)")
	fs.Var(limit{&l.MaxThingsPerAgent}, "max-things", "most Things one agent may register; more are refused with quota (0: no limit)")
	l.MaxAffordances = hub.DefaultMaxAffordances
	fs.Var(limit{&l.MaxAffordances}, "max-affordances", "most properties, actions and events one TD may have; more are refused with quota (0: no limit)")
	fs.Var(limit{&l.MaxHistory}, "max-history", "most history records kept per Thing; the oldest go first (0: no cap)")
	fs.Var(limit{&l.ClientQueue}, "client-queue", "most messages waiting for one slow client; more are dropped for it and counted (0: Mochi's 8192)")
	l.ClientQueueBytes, l.RequestWindow = hub.DefaultClientQueueBytes, hub.DefaultRequestWindow
	fs.Var(byteSize{i: &l.ClientQueueBytes}, "client-queue-bytes", "most memory the messages waiting for one slow client may hold, e.g. 64MiB (a message counts its payload plus ~0.8 KiB); more are dropped for it and counted (0: no limit)")
	fs.Var(limit{&l.RequestWindow}, "request-window", "most requests delivered to one agent and not yet answered; more wait as pending (0: half the client queue)")
	l.MaxPayload, l.MinFreeDisk = hub.DefaultMaxPayload, hub.DefaultMinFreeDisk
	fs.Var(byteSize{p: &l.MinFreeDisk}, "min-free-disk", "free disk space the data directory keeps: below it writes are refused with storage_full (0: no check)")
	fs.Var(byteSize{i: &l.MaxPayload}, "max-payload", "largest payload accepted, e.g. 256KiB; larger ones are refused with too_large (0: no limit)")
	fs.Float64Var(&l.RateLimit, "rate-limit", hub.DefaultRateLimit, "publishes a second one connection may sustain; more are refused with rate_limited (0: no limit)")
	fs.IntVar(&l.RateBurst, "rate-burst", 0, "publishes one connection may send at once over the rate (0: twice the rate)")
	th := &o.Throttle
	fs.IntVar(&th.Failures, "login-failures", 5, "failed logins for one account from one address, within a minute, that lock that pair (not the account) for 10 s, doubling up to 5 min")
	fs.IntVar(&th.AddressFailures, "login-address-failures", 20, "failed logins from one address, within a minute, for any accounts, after which its password logins are slowed down (one at a time, --login-delay each), never refused")
	fs.DurationVar(&th.Delay, "login-delay", time.Second, "how long each password login from a slowed-down address waits")
	l.MaxSessionExpiry = hub.DefaultMaxSessionExpiry
	fs.Var(durationCap{&l.MaxSessionExpiry}, "max-session-expiry", "longest a persistent session is kept (and queues messages) while its client is away; clients asking for more are told this (0: no cap)")
	fs.DurationVar(&l.MaxKeepAlive, "max-keepalive", 0, "longest keep alive an MQTT 5 client may ask for; one asking for more, or for none, is told this in its CONNACK (Server Keep Alive), e.g. 60s (0: no cap)")
	l.MaxSubscriptions, l.ConnectTimeout = broker.DefaultMaxSubscriptions, broker.DefaultConnectTimeout
	fs.Var(limit{&l.MaxSubscriptions}, "max-subscriptions", "most subscriptions one MQTT client may hold; more get SUBACK 0x97 (0: no limit)")
	l.MaxRetained = broker.DefaultMaxRetained
	fs.Var(limit{&l.MaxRetained}, "max-retained", "most retained messages kept on free topics, hub-wide; a new one beyond is refused with PUBACK 0x97, replacing or clearing one is always taken (0: no limit)")
	fs.Var(positiveDuration{&l.ConnectTimeout}, "connect-timeout", "how long a new connection may take to send its CONNECT before it is closed, e.g. 15s")
}

// durationCap is a duration flag where 0 turns the cap off (stored
// negative, as hub.Limits wants).
type durationCap struct{ p *time.Duration }

func (d durationCap) String() string {
	if d.p == nil || *d.p < 0 {
		return "0"
	}
	return d.p.String()
}

// Get is the cap, 0 for none (flag.Getter, for --print-config).
func (d durationCap) Get() any { return max(*d.p, 0) }

func (d durationCap) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("want a duration such as 24h, 0 for no cap")
	}
	if v == 0 {
		v = -1
	}
	*d.p = v
	return nil
}

// positiveDuration is a duration flag that must be above zero: a timeout
// that cannot be turned off.
type positiveDuration struct{ p *time.Duration }

func (d positiveDuration) String() string {
	if d.p == nil {
		return "0s"
	}
	return d.p.String()
}

// Get is the duration (flag.Getter, for --print-config).
func (d positiveDuration) Get() any { return *d.p }

func (d positiveDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("want a duration above zero, e.g. 15s")
	}
	*d.p = v
	return nil
}

// limit is a count flag where 0 turns the limit off (stored negative, as
// hub.Limits wants).
type limit struct{ p *int }

func (l limit) String() string {
	if l.p == nil || *l.p < 0 {
		return "0"
	}
	return strconv.Itoa(*l.p)
}

// Get is the limit, 0 for none (flag.Getter, for --print-config).
func (l limit) Get() any { return max(*l.p, 0) }

func (l limit) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a count, 0 for no limit")
	}
	if n == 0 {
		n = -1
	}
	*l.p = n
	return nil
}

// byteSize is a size flag: a number of bytes with an optional unit (B,
// KiB, MiB, GiB; K, M, G and KB, MB, GB mean the same powers of 1024);
// 0 or "off" turns the limit off.
type byteSize struct {
	p *int64
	i *int
}

func (b byteSize) get() int64 {
	switch {
	case b.p != nil:
		return *b.p
	case b.i != nil:
		return int64(*b.i)
	}
	return 0
}

func (b byteSize) String() string {
	n := b.get()
	if n <= 0 {
		return "0"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	if n == 0 {
		n = -1
	}
	if b.p != nil {
		*b.p = n
	} else {
		*b.i = int(n)
	}
	return nil
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return 0, nil
	}
	num := strings.TrimRight(s, "KMGiBb")
	unit := strings.TrimSuffix(strings.TrimSuffix(s[len(num):], "B"), "i")
	mult := map[string]int64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || mult == 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q: want a size such as 256KiB, 64MiB or 1048576", s)
	}
	return n * mult, nil
}

const backupUsage = `Usage: wotmq backup [NAME] [flags]

Write an online backup of the hub's store, from a consistent snapshot while
it serves, to NAME (default: wotmq-TIME.backup) in the hub's backup
directory (--backup-dir of serve, default DATA/backups), on the hub's host.
Admins only: a backup holds password hashes and the token key. Restore it
with "wotmq restore".

Example:
  wotmq backup nightly.backup --username admin --password "$ADMIN_PW"

Flags:
`

func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq backup", flag.ContinueOnError)
	var a adminConn
	a.flags(fs)
	rest, err := parseAdmin(fs, args, stderr, backupUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	req := twin.AdminRequest{Op: twin.AdminBackup}
	if len(rest) > 0 {
		req.File = rest[0]
	}
	var out twin.BackupReply
	if err := a.do(ctx, req, &out); err != nil {
		return err
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%s (%d bytes, %s)\n", out.File, out.Bytes, out.Took)
	return nil
}

const restoreUsage = `Usage: wotmq restore --data DIR FILE

Load a backup written by "wotmq backup" into DIR, a data directory that
holds no store yet. No hub may run on DIR meanwhile; start one on it
afterwards ("wotmq serve --data DIR").

Example:
  wotmq restore --data /var/lib/wotmq-new /var/lib/wotmq/backups/nightly.backup

Flags:
`

func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq restore", flag.ContinueOnError)
	data := fs.String("data", "", "data directory to restore into (must hold no store)")
	rest, err := parseAdmin(fs, args, stderr, restoreUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *data == "" || len(rest) != 1 {
		return usageError{"restore: want --data DIR and one backup FILE"}
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	if err := hub.Restore(*data, f, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", rest[0], *data)
	return nil
}
