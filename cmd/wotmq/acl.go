package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

const aclUsage = `Usage: wotmq acl COMMAND [flags] ...

Manage the access rules of free topics: every topic outside the hub's
namespaces (things/, agents/, replies/, wotmq/, $...) works as on a plain
MQTT broker, for whom the rules allow (an admin account is needed;
docs/security.md, "Free topics and access rules").

  wotmq acl list
  wotmq acl allow WHO FILTER [--publish] [--subscribe]
  wotmq acl deny WHO FILTER [--publish] [--subscribe]
  wotmq acl remove RULE-ID

WHO is an account ID, role:NAME or * (every client). FILTER is an MQTT topic
filter; %u stands for the client's account and %c for its client ID. Without
--publish or --subscribe a rule governs both. A deny rule wins over any
allow rule. Without a rule a free topic is closed, except with serve --dev,
where every free topic is open until a rule denies it. A change applies to
connected clients at once.

Examples:
  wotmq acl allow role:viewer 'sensors/#' --subscribe --username admin --password-file pw
  wotmq acl allow '*' 'clients/%u/#' --username admin --password-file pw
  wotmq acl deny '*' test/nosubscribe --subscribe --username admin --password-file pw
`

func acl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq acl", flag.ContinueOnError)
	var a adminConn
	a.flags(fs)
	pub := fs.Bool("publish", false, "the rule governs publishes (with --subscribe or alone; neither: both)")
	sub := fs.Bool("subscribe", false, "the rule governs subscriptions and the deliveries they bring (neither: both)")
	if len(args) == 0 {
		io.WriteString(stderr, aclUsage)
		return usageError{"acl: no command given"}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		io.WriteString(stdout, aclUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	verb := args[0]
	rest, err := parseAdmin(fs, args[1:], stderr, aclUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		var list []authz.TopicRule
		if err := a.do(ctx, twin.AdminRequest{Op: twin.AdminRulesList}, &list); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(stdout).Encode(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tACCESS\tWHO\tFILTER\tGOVERNS")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, ruleAccess(r), r.Who, r.Filter, ruleGoverns(r))
		}
		return tw.Flush()
	case "allow", "deny":
		if len(rest) != 2 {
			return usageError{fmt.Sprintf("acl %s: want WHO and FILTER", verb)}
		}
		r := authz.TopicRule{Who: rest[0], Filter: rest[1], Publish: *pub, Subscribe: *sub, Deny: verb == "deny"}
		if !r.Publish && !r.Subscribe {
			r.Publish, r.Subscribe = true, true
		}
		var out authz.TopicRule
		if err := a.do(ctx, twin.AdminRequest{Op: twin.AdminRulesAdd, Rule: &r}, &out); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stdout, "rule %s: %s %s %s (%s)\n", out.ID, ruleAccess(out), out.Who, out.Filter, ruleGoverns(out))
		return nil
	case "remove":
		if len(rest) != 1 {
			return usageError{"acl remove: want one RULE-ID"}
		}
		if err := a.do(ctx, twin.AdminRequest{Op: twin.AdminRulesRemove, ID: rest[0]}, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rule %s removed\n", rest[0])
		return nil
	}
	io.WriteString(stderr, aclUsage)
	return usageError{fmt.Sprintf("acl: unknown command %q", verb)}
}

func ruleAccess(r authz.TopicRule) string {
	if r.Deny {
		return "deny"
	}
	return "allow"
}

func ruleGoverns(r authz.TopicRule) string {
	switch {
	case r.Publish && r.Subscribe:
		return "publish, subscribe"
	case r.Publish:
		return "publish"
	}
	return "subscribe"
}
