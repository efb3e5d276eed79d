package main

import (
	"flag"

	"github.com/wotmq/wotmq/hub"
)

// httpFlags binds the serve flags that bound what HTTP clients may hold
// (docs/security.md, "Limits").
func httpFlags(fs *flag.FlagSet, m *Main) {
	o := &m.Options
	fs.DurationVar(&o.HTTPReadTimeout, "http-read-timeout", hub.DefaultHTTPRead, "how long an HTTP client may take to send a whole request, headers and body; slower ones are cut off (408)")
	fs.DurationVar(&o.HTTPIdleTimeout, "http-idle-timeout", hub.DefaultHTTPIdle, "how long an idle HTTP keep-alive connection stays open")
	o.Limits.MaxStreams = hub.DefaultMaxStreams
	fs.Var(limit{&o.Limits.MaxStreams}, "max-streams", "most HTTP event streams (SSE) one account may have open; more are refused with 429 quota (0: no limit)")
}
