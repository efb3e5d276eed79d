package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
)

func TestHTTPFlags(t *testing.T) {
	parse := func(t *testing.T, env map[string]string, args ...string) hub.Options {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := &Main{}
		serveFlags(fs, m)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		return m.Options
	}
	t.Run("Defaults", func(t *testing.T) {
		o := parse(t, nil)
		if o.HTTPReadTimeout != hub.DefaultHTTPRead || o.HTTPIdleTimeout != hub.DefaultHTTPIdle || o.Limits.MaxStreams != hub.DefaultMaxStreams {
			t.Errorf("read %s, idle %s, streams %d", o.HTTPReadTimeout, o.HTTPIdleTimeout, o.Limits.MaxStreams)
		}
	})
	t.Run("FlagsAndEnvironment", func(t *testing.T) {
		o := parse(t, map[string]string{"WOTMQ_HTTP_IDLE_TIMEOUT": "45s", "WOTMQ_MAX_STREAMS": "0"}, "--http-read-timeout", "5s")
		if o.HTTPReadTimeout != 5*time.Second || o.HTTPIdleTimeout != 45*time.Second || o.Limits.MaxStreams >= 0 {
			t.Errorf("read %s, idle %s, streams %d (0 turns the cap off: negative)", o.HTTPReadTimeout, o.HTTPIdleTimeout, o.Limits.MaxStreams)
		}
	})
}
