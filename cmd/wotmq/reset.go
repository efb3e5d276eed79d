package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
)

const resetUsage = `Usage: wotmq reset-password (--data DIR | --nats-url URL,...) [--new-password-file FILE] [ID]

Sets the password of the account ID (default: admin), enables it, and
voids its tokens: the way back in when no admin can log in any more. An
ID that is no account is created as an admin. Without
--new-password-file it makes up a password and prints it.

--data DIR changes the store of a stopped single hub. Stop the hub first,
and run this as the user the hub runs as, so that the store's files keep
their owner. With the Debian package:

  systemctl stop wotmq
  sudo -u wotmq wotmq reset-password --data /var/lib/wotmq
  systemctl start wotmq

--nats-url URL,... changes a running cluster's accounts through any of its
nodes' NATS (a node's embedded NATS listens on 127.0.0.1 and says where in
its log line "cluster stores open"); every node applies the change and
ends the account's connections, as a password change does:

  wotmq reset-password --nats-url nats://127.0.0.1:4222

Flags:
`

func resetPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq reset-password", flag.ContinueOnError)
	data := fs.String("data", "", "data directory of the stopped hub")
	urls := fs.String("nats-url", "", "a running cluster's NATS client URLs, comma-separated, whose accounts to change")
	pwFile := fs.String("new-password-file", "", "file whose first line is the new password (default: a random one, printed)")
	rest, err := parseAdmin(fs, args, stderr, resetUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if (*data == "") == (*urls == "") || len(rest) > 1 {
		return usageError{"reset-password: want either --data DIR or --nats-url URL, and at most one account ID"}
	}
	id := "admin"
	if len(rest) == 1 {
		id = rest[0]
	}
	if *data != "" {
		if err := sameOwner(*data); err != nil {
			return err
		}
	}
	pw, generated := authz.NewPassword(), true
	if *pwFile != "" {
		if pw, err = readSecretFile(*pwFile); err != nil {
			return err
		}
		generated = false
	}
	var created bool
	if *urls != "" {
		created, err = hub.ResetClusterPassword(ctx, strings.Split(*urls, ","), id, pw, nil)
	} else {
		created, err = hub.ResetPassword(ctx, *data, id, pw, nil)
	}
	if err != nil {
		return err
	}
	what := "set the password of"
	if created {
		what = "created the admin account"
	}
	if generated {
		fmt.Fprintf(stdout, "%s %q; its password:\n\n    %s\n\nChange it once logged in: wotmq accounts passwd %s\n", what, id, pw, id)
	} else {
		fmt.Fprintf(stdout, "%s %q\n", what, id)
	}
	return nil
}
