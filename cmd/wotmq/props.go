package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/wotmq/wotmq/wot"
)

const readUsage = `Usage: wotmq read ID [PROPERTY] [flags]

Prints the current value of a property, or of every property of the Thing.

Example:
  wotmq read urn:dev:ops:lamp-1 brightness
  wotmq read urn:dev:ops:lamp-1 --json
`

// cmdRead reads one property (its value; --json: the JSON value) or all
// (name: value lines; --json: one object).
func cmdRead(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := flag.NewFlagSet("wotmq read", flag.ContinueOnError)
	f.register(fs)
	pos, err := parseVerb(fs, clientVerb{name: "read", usage: readUsage, min: 1, max: 2}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	if len(pos) == 2 {
		var v json.RawMessage
		if err := t.ReadProperty(ctx, pos[1], &v); err != nil {
			return err
		}
		if f.json {
			return printJSON(stdout, v)
		}
		_, err := fmt.Fprintln(stdout, pretty(v))
		return err
	}
	all, err := t.ReadAllProperties(ctx)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, all)
	}
	props := make([]string, 0, len(all))
	for n := range all {
		props = append(props, n)
	}
	sort.Strings(props)
	for _, n := range props {
		fmt.Fprintf(stdout, "%s: %s\n", n, pretty(all[n]))
	}
	return nil
}

const observeUsage = `Usage: wotmq observe ID [PROPERTY] [flags]

Prints the current value of a property (or of every property) and then
every change, until interrupted or --count values were printed.

Example:
  wotmq observe urn:dev:ops:lamp-1 brightness
  wotmq observe urn:dev:ops:lamp-1 --count 10 --json
`

// observed is one line of observe --json.
type observed struct {
	Thing  string          `json:"thing"`
	Name   string          `json:"name"`
	Value  json.RawMessage `json:"value"`
	Time   time.Time       `json:"time,omitzero"`
	Sender string          `json:"sender,omitempty"`
}

func cmdObserve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	var count int
	fs := flag.NewFlagSet("wotmq observe", flag.ContinueOnError)
	f.register(fs)
	fs.IntVar(&count, "count", 0, "stop after this many values (0: until interrupted)")
	pos, err := parseVerb(fs, clientVerb{name: "observe", usage: observeUsage, min: 1, max: 2}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	msgs := make(chan wot.Message, 64)
	handler := func(m wot.Message) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}
	var sub *wot.Subscription
	if len(pos) == 2 {
		sub, err = t.ObserveProperty(ctx, pos[1], handler)
	} else {
		sub, err = t.ObserveAllProperties(ctx, handler)
	}
	if err != nil {
		return err
	}
	defer sub.Stop(context.WithoutCancel(ctx))
	return printMessages(ctx, msgs, count, func(m wot.Message) error {
		if f.json {
			return printJSON(stdout, observed{Thing: m.ThingID, Name: m.Name, Value: jsonValue(m.Payload), Time: m.Time, Sender: m.Sender})
		}
		_, err := fmt.Fprintf(stdout, "%s  %s  %s\n", stamp(m.Time), m.Name, pretty(m.Payload))
		return err
	})
}

// printMessages prints messages until ctx ends or count were printed
// (count 0: no limit). An ended ctx is not an error: it is how a stream
// stops.
func printMessages(ctx context.Context, msgs <-chan wot.Message, count int, print func(wot.Message) error) error {
	for n := 0; count == 0 || n < count; n++ {
		select {
		case m := <-msgs:
			if err := print(m); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

const writeUsage = `Usage: wotmq write ID PROPERTY VALUE [flags]

Writes a property (its desired state) and waits until the agent applied it.
VALUE is JSON (42, true, "text", {"a": 1}); anything else is sent as a
string.

Example:
  wotmq write urn:dev:ops:lamp-1 brightness 70
  wotmq write urn:dev:ops:lamp-1 label 'Living room' --timeout 30s
`

func cmdWrite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := flag.NewFlagSet("wotmq write", flag.ContinueOnError)
	f.register(fs)
	pos, err := parseVerb(fs, clientVerb{name: "write", usage: writeUsage, min: 3, max: 3}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := t.WriteProperty(wctx, pos[1], parseValue(pos[2])); err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, map[string]string{"status": string(wot.StatusCompleted)})
	}
	_, err = fmt.Fprintf(stdout, "%s of %s is now %s\n", pos[1], pos[0], pretty(parseValue(pos[2])))
	return err
}
