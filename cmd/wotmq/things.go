package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/wotmq/wotmq/td"
)

const thingsUsage = `Usage: wotmq things [flags]

Lists the Things in the hub's directory: ID, title and affordances.

Example:
  wotmq things --broker localhost:1883
  wotmq things --json | jq -r .id
`

// cmdThings lists the directory. --json prints one twin TD per line.
func cmdThings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := flag.NewFlagSet("wotmq things", flag.ContinueOnError)
	f.register(fs)
	if _, err := parseVerb(fs, clientVerb{name: "things", usage: thingsUsage, max: 0}, args, stderr); err != nil {
		return runVerb(err)
	}
	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer closeClient(c)
	things, err := c.Things(ctx)
	if err != nil {
		return err
	}
	if f.json {
		for _, t := range things {
			if err := printJSON(stdout, t); err != nil {
				return err
			}
		}
		return nil
	}
	if len(things) == 0 {
		fmt.Fprintln(stdout, "no Things")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tPROPERTIES\tACTIONS\tEVENTS")
	for _, t := range things {
		props, actions, events := t.AffordanceNames()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Title, names(props), names(actions), names(events))
	}
	return tw.Flush()
}

func names(n []string) string {
	if len(n) == 0 {
		return "-"
	}
	sort.Strings(n)
	return strings.Join(n, ",")
}

const tdUsage = `Usage: wotmq td ID [flags]

Prints the twin Thing Description of a Thing, with the hub's forms.

Example:
  wotmq td urn:dev:ops:lamp-1
  wotmq td urn:dev:ops:lamp-1 --json > lamp.td.json
`

// cmdTD prints a twin TD: indented, or on one line with --json.
func cmdTD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := flag.NewFlagSet("wotmq td", flag.ContinueOnError)
	f.register(fs)
	pos, err := parseVerb(fs, clientVerb{name: "td", usage: tdUsage, min: 1, max: 1}, args, stderr)
	if err != nil {
		return runVerb(err)
	}
	c, t, err := f.thing(ctx, pos[0])
	if err != nil {
		return err
	}
	defer closeClient(c)
	if f.json {
		return printJSON(stdout, t.TD())
	}
	b, err := td.MarshalIndent(t.TD(), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
