package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wotmq/wotmq/wot"
)

const invokeUsage = `Usage: wotmq invoke ID ACTION [INPUT] [flags]

Invokes an action and prints its statuses as they come (pending,
delivered, running with progress, waiting), then its output. INPUT is JSON
(42, true, "text", {"to": 30}); anything else is sent as a string. The exit
status is 1 when the action failed or no outcome came within --timeout.

Example:
  wotmq invoke urn:dev:ops:lamp-1 fade '{"to": 30}'
  wotmq invoke urn:dev:ops:lamp-1 toggle --json --timeout 1m
`

// update is one line of invoke --json.
type update struct {
	Status   wot.Status      `json:"status"`
	ActionID string          `json:"actionID,omitempty"`
	Time     time.Time       `json:"time,omitzero"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Error    *wot.Error      `json:"error,omitempty"`
}

func cmdInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := flag.NewFlagSet("wotmq invoke", flag.ContinueOnError)
	f.register(fs)
	pos, err := parseVerb(fs, clientVerb{name: "invoke", usage: invokeUsage, min: 2, max: 3}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	var input any
	if len(pos) == 3 {
		input = parseValue(pos[2])
	}
	ictx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	inv, err := t.InvokeActionAsync(ictx, pos[1], input)
	if err != nil {
		return err
	}
	var last wot.ActionUpdate
	for u := range inv.Updates() {
		last = u
		if f.json {
			line := update{Status: u.Status, ActionID: u.ActionID, Time: u.Time, Payload: jsonValue(u.Payload)}
			if u.Err != nil {
				line.Error = wireErr(u.Err)
			}
			if err := printJSON(stdout, line); err != nil {
				return err
			}
			continue
		}
		switch {
		case u.Status == wot.StatusCompleted:
			fmt.Fprintf(stdout, "%s  completed\n%s\n", stamp(u.Time), pretty(u.Payload))
		case u.Err != nil:
			fmt.Fprintf(stdout, "%s  failed: %v\n", stamp(u.Time), u.Err)
		case len(u.Payload) > 0:
			fmt.Fprintf(stdout, "%s  %s  %s\n", stamp(u.Time), u.Status, pretty(u.Payload))
		default:
			fmt.Fprintf(stdout, "%s  %s\n", stamp(u.Time), u.Status)
		}
	}
	if last.Err != nil {
		return last.Err
	}
	return nil
}

// wireErr returns the *wot.Error an SDK error carries; for errors of the
// client itself (a timeout, a lost connection) one made up from it.
func wireErr(err error) *wot.Error {
	var we *wot.Error
	switch {
	case errors.As(err, &we):
		return we
	case errors.Is(err, wot.ErrTimeout):
		return &wot.Error{Code: wot.CodeTimeout, Message: err.Error()}
	}
	return &wot.Error{Code: wot.CodeInternal, Message: err.Error()}
}
