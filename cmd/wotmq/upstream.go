package main

import (
	"flag"
	"strings"

	"github.com/wotmq/wotmq/upstream"
)

// upstreamFlags binds the serve flags of an edge hub's link to its cloud
// hub (hub.Options.Upstream, docs/bridges.md "Edge to cloud"). The
// password is read from a file only: a command line is visible to every
// user of the machine.
func upstreamFlags(fs *flag.FlagSet, m *Main) {
	u := &m.Options.Upstream
	fs.StringVar(&u.URL, "upstream", "", "make this an edge hub: the URL of its cloud hub (mqtt://host:1883, mqtts://, ws://, wss://), where it is the agent of the Things it exports (default: off)")
	fs.StringVar(&u.Username, "upstream-username", "", "the edge hub's account at the cloud hub (role agent)")
	fs.StringVar(&m.UpstreamPasswordFile, "upstream-password-file", "", "file whose first line is the password (or an access token) of --upstream-username")
	fs.Var((*patternList)(&u.Things), "upstream-things", "Thing IDs to export upstream, patterns where * matches anything (urn:site1:*), repeatable or comma-separated; a TD with \"wotmq:export\": true is exported too, one with false never")
	fs.DurationVar(&u.MaxBackoff, "upstream-retry", upstream.DefaultMaxBackoff, "longest wait between attempts to reach the cloud hub")
}

// patternList is a repeatable, comma-separated list flag.
type patternList []string

func (p *patternList) String() string { return strings.Join(*p, ",") }

func (p *patternList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*p = append(*p, v)
		}
	}
	return nil
}
