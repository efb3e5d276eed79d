package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/wotmq/wotmq/wot"
)

const historyUsage = `Usage: wotmq history ID [NAME] [flags]

Prints the stored events and property values of a Thing, oldest first, or
those of one event or property NAME. --from and --to take RFC 3339 times
or durations back from now (1h, 30m); --cursor continues a page.

Example:
  wotmq history urn:dev:ops:lamp-1 --from 1h
  wotmq history urn:dev:ops:lamp-1 overheating --limit 10 --json
`

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	var from, to, cursor string
	var limit int
	fs := flag.NewFlagSet("wotmq history", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&from, "from", "", "oldest time: RFC 3339, or a duration back from now (e.g. 24h)")
	fs.StringVar(&to, "to", "", "newest time (exclusive): RFC 3339, or a duration back from now")
	fs.IntVar(&limit, "limit", 0, "most items in the page (hub default 100, at most 1000)")
	fs.StringVar(&cursor, "cursor", "", "continue after an earlier page (its next cursor)")
	pos, err := parseVerb(fs, clientVerb{name: "history", usage: historyUsage, min: 1, max: 2}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	q := wot.HistoryQuery{Limit: limit, Cursor: cursor}
	now := time.Now()
	if q.From, err = parseWhen(from, now); err != nil {
		return usageError{"--from: " + err.Error()}
	}
	if q.To, err = parseWhen(to, now); err != nil {
		return usageError{"--to: " + err.Error()}
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	var page *wot.HistoryPage
	switch {
	case len(pos) == 1:
		page, err = t.History(ctx, q)
	case t.TD().Events[pos[1]] != nil:
		page, err = t.EventHistory(ctx, pos[1], q)
	case t.TD().Properties[pos[1]] != nil:
		page, err = t.PropertyHistory(ctx, pos[1], q)
	default:
		return fmt.Errorf("%w: Thing %s has no event or property %q", wot.ErrNotFound, pos[0], pos[1])
	}
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, page)
	}
	if len(page.Items) == 0 {
		fmt.Fprintln(stdout, "no history")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tNAME\tVALUE\tSENDER")
	for _, it := range page.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Time.Local().Format(time.RFC3339Nano), it.Kind, it.Name, compact(it.Value), it.Sender)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(stdout, "more: --cursor %s\n", page.Next)
	}
	return nil
}

// parseWhen reads a time: RFC 3339, or a duration back from now; "" is no
// bound.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}
