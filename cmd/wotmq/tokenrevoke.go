package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

const tokenRevokeUsage = `Usage: wotmq token revoke [TOKEN] [--token-file FILE] [flags]

Revoke one token until it expires: the hub refuses it from now on and ends
the MQTT connections and event streams opened with it. Its own account and
admins may revoke a token. Without TOKEN or --token-file, the token this
command logs in with is revoked (--password-file holding it).
To void every token of an account at once, change its password.

Example:
  wotmq token revoke --token-file leaked-token --username admin --password-file admin-pw
`

// tokenRevoke is "wotmq token revoke": the admin API's token.revoke.
func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq token revoke", flag.ContinueOnError)
	var a adminConn
	a.flags(fs)
	tokenFile := fs.String("token-file", "", "file whose first line is the token to revoke (wins over TOKEN)")
	rest, err := parseAdmin(fs, args, stderr, tokenRevokeUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	tok := ""
	if len(rest) > 0 {
		tok = rest[0]
	}
	if tok, err = passwordOf(tok, *tokenFile); err != nil {
		return err
	}
	if err := a.resolvePassword(); err != nil {
		return err
	}
	if tok == "" && !authz.LooksLikeToken(a.password) {
		return usageError{"token revoke: which token? Give it (TOKEN or --token-file), or log in with it"}
	}
	var out twin.TokenRevokeReply
	err = a.do(ctx, twin.AdminRequest{Op: twin.AdminTokenRevoke, Token: tok}, &out)
	var sd *serverDisconnect
	if (tok == "" || tok == a.password) && errors.As(err, &sd) && sd.code == 0x98 {
		// Its own login token: the hub ends this connection with it,
		// before the answer could come (DISCONNECT 0x98, token revoked).
		fmt.Fprintln(stdout, "revoked the token this command logged in with")
		return nil
	}
	if err != nil {
		return err
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "revoked token %s of %s (it would have expired %s)\n", out.ID, out.Account, out.Expires.Format(time.RFC3339))
	return nil
}
