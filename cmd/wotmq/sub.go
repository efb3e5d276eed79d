package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wotmq/wotmq/wot"
)

const subUsage = `Usage: wotmq sub FILTER [flags]

Subscribes to an MQTT topic filter (wildcards allowed) and prints each
message: topic, payload and MQTT 5 user properties, until interrupted or
--count messages were printed. Retained messages are marked (retained).

Example:
  wotmq sub 'things/+/events/#'
  wotmq sub 'things/urn:dev:ops:lamp-1/#' --count 5 --json
`

// subLine is one line of sub --json.
type subLine struct {
	Topic    string            `json:"topic"`
	Payload  json.RawMessage   `json:"payload,omitempty"`
	Retained bool              `json:"retained,omitempty"`
	User     map[string]string `json:"user,omitempty"`
}

func cmdSub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	var count int
	fs := flag.NewFlagSet("wotmq sub", flag.ContinueOnError)
	f.register(fs)
	fs.IntVar(&count, "count", 0, "stop after this many messages (0: until interrupted)")
	pos, err := parseVerb(fs, clientVerb{name: "sub", usage: subUsage, min: 1, max: 1}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer closeClient(c)
	msgs := make(chan wot.Message, 64)
	sub, err := c.Subscribe(ctx, pos[0], func(m wot.Message) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return err
	}
	defer sub.Stop(context.WithoutCancel(ctx))
	return printMessages(ctx, msgs, count, func(m wot.Message) error {
		if f.json {
			line := subLine{Topic: m.Topic, Payload: jsonValue(m.Payload), Retained: m.Retained}
			if len(m.User) > 0 {
				line.User = make(map[string]string, len(m.User))
				for _, u := range m.User {
					line.User[u.Key] = u.Value
				}
			}
			return printJSON(stdout, line)
		}
		var b strings.Builder
		b.WriteString(m.Topic)
		if m.Retained {
			b.WriteString(" (retained)")
		}
		b.WriteString("  ")
		b.WriteString(compact(m.Payload))
		for _, u := range m.User {
			fmt.Fprintf(&b, "  %s=%s", u.Key, u.Value)
		}
		_, err := fmt.Fprintln(stdout, b.String())
		return err
	})
}

// compact prints a payload on one line.
func compact(raw []byte) string {
	if len(raw) == 0 {
		return "(empty)"
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}
