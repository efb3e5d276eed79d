package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// adminConn are the connection flags of the admin verbs.
type adminConn struct {
	broker, username, password string
	passwordFile               string
	timeout                    time.Duration
	json                       bool
}

func (a *adminConn) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.broker, "broker", "127.0.0.1:1883", "hub MQTT address host:port")
	fs.StringVar(&a.username, "username", "", "account to act as")
	fs.StringVar(&a.password, "password", "", "its password or token (prefer --password-file or WOTMQ_PASSWORD: a command line is visible to every user of the machine)")
	fs.StringVar(&a.passwordFile, "password-file", "", "file whose first line is the password or token (wins over --password)")
	fs.DurationVar(&a.timeout, "timeout", 10*time.Second, "how long to wait for the hub")
	fs.BoolVar(&a.json, "json", false, "print JSON")
}

// parseAdmin parses an admin verb's flags (interspersed with its
// positional arguments, each flag also WOTMQ_<FLAG>) like the client verbs.
func parseAdmin(fs *flag.FlagSet, args []string, stderr io.Writer, usage string) ([]string, error) {
	return parseVerb(fs, clientVerb{name: fs.Name(), usage: usage, max: -1}, args, stderr)
}

// do sends one request to the hub's admin topic and decodes the reply
// into out.
func (a *adminConn) do(ctx context.Context, req twin.AdminRequest, out any) error {
	if err := a.resolvePassword(); err != nil {
		return err
	}
	if err := checkHub(ctx, a.broker, a.timeout); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", a.broker)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", a.broker, err)
	}
	replies := make(chan *paho.Publish, 1)
	ended := make(chan *paho.Disconnect, 1)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			select {
			case replies <- pr.Packet:
			default:
			}
			return true, nil
		}}, OnClientError: func(error) {},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case ended <- d:
			default:
			}
		}})
	cp := &paho.Connect{CleanStart: true, KeepAlive: 30, ClientID: "wotmq-cli-" + randHex(6),
		Username: a.username, UsernameFlag: a.username != "", Password: []byte(a.password), PasswordFlag: a.password != ""}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		if ca != nil && ca.Properties != nil && ca.Properties.ReasonString != "" {
			return fmt.Errorf("hub refused the connection: %s", ca.Properties.ReasonString)
		}
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	who := a.username
	if who == "" {
		who = tokenSubject(a.password)
	}
	if who == "" {
		who = cp.ClientID // development mode: anonymous clients are named by their client ID
	}
	topic := authz.RepliesRoot + "/" + wot.EscapeLevel(who) + "/cli-" + randHex(6)
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	body, _ := json.Marshal(req)
	// The PUBACK is awaited beside the end of the connection: a request
	// that revokes the token it logged in with ends it first.
	pctx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	go func() {
		select {
		case d := <-ended:
			ended <- d // for the wait for the reply below
			stopPub()
		case <-pctx.Done():
		}
	}()
	resp, err := c.Publish(pctx, &paho.Publish{Topic: authz.AdminTopic, QoS: 1, Payload: body,
		Properties: &paho.PublishProperties{ResponseTopic: topic, CorrelationData: []byte("cli")}})
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		err = nil // the connection ended: the wait below says how
	}
	if err != nil {
		if resp != nil && resp.Properties != nil && resp.Properties.ReasonString != "" {
			return errors.New(resp.Properties.ReasonString)
		}
		return err
	}
	select {
	case m := <-replies:
		if m.Properties != nil && m.Properties.User.Get(wot.PropStatus) == string(wot.StatusFailed) {
			return fmt.Errorf("%s: %s", m.Properties.User.Get(wot.PropError), m.Properties.User.Get(wot.PropMessage))
		}
		if out != nil {
			return json.Unmarshal(m.Payload, out)
		}
		return nil
	case d := <-ended:
		e := &serverDisconnect{code: d.ReasonCode}
		if d.Properties != nil {
			e.reason = d.Properties.ReasonString
		}
		return e
	case <-ctx.Done():
		return fmt.Errorf("no answer from the hub: %w", ctx.Err())
	}
}

// serverDisconnect is the hub ending the connection before it answered
// (revoking the token the command logged in with does).
type serverDisconnect struct {
	code   byte
	reason string
}

func (e *serverDisconnect) Error() string {
	return fmt.Sprintf("the hub ended the connection (%#x): %s", e.code, e.reason)
}

// resolvePassword reads --password-file into password, once.
func (a *adminConn) resolvePassword() error {
	pw, err := passwordOf(a.password, a.passwordFile)
	if err != nil {
		return err
	}
	a.password, a.passwordFile = pw, ""
	return nil
}

// tokenSubject reads the account ID out of a token (without checking it:
// the hub does) so that replies can be addressed to it.
func tokenSubject(pw string) string {
	if !authz.LooksLikeToken(pw) {
		return ""
	}
	parts := strings.Split(pw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Sub
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const accountsUsage = `Usage: wotmq accounts COMMAND [flags] ...

Manage the hub's accounts (an admin account is needed, except to change
one's own password).

  wotmq accounts list
  wotmq accounts add ID --role ROLE [--name NAME] [--new-password-file FILE]
  wotmq accounts role ID ROLE
  wotmq accounts disable ID        (also ends its connections and voids its tokens)
  wotmq accounts enable ID
  wotmq accounts passwd [ID] [--new-password-file FILE]
                                   (your own: log in with your current password,
                                   not a token; an admin sets another's)

Roles: agent, viewer, operator, manager, admin, service (docs/security.md).
Without --new-password-file (or --new-password, WOTMQ_NEW_PASSWORD), add and
passwd make up a password and print it.

Example:
  wotmq accounts add lamp-agent --role agent --username admin --password "$ADMIN_PW"
`

func accounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq accounts", flag.ContinueOnError)
	var a adminConn
	a.flags(fs)
	role := fs.String("role", "", "role of a new account")
	name := fs.String("name", "", "display name of a new account")
	newPW := fs.String("new-password", "", "password to set (default: a random one, printed; prefer --new-password-file or WOTMQ_NEW_PASSWORD)")
	newPWFile := fs.String("new-password-file", "", "file whose first line is the password to set (wins over --new-password)")
	if len(args) == 0 {
		fmt.Fprint(stderr, accountsUsage)
		return usageError{"accounts: no command given"}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, accountsUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	verb := args[0]
	rest, err := parseAdmin(fs, args[1:], stderr, accountsUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *newPW, err = passwordOf(*newPW, *newPWFile); err != nil {
		return err
	}
	arg := func(i int, what string) (string, error) {
		if len(rest) <= i {
			return "", usageError{fmt.Sprintf("accounts %s: missing %s", verb, what)}
		}
		return rest[i], nil
	}
	var req twin.AdminRequest
	switch verb {
	case "list":
		var list []authz.Account
		if err := a.do(ctx, twin.AdminRequest{Op: twin.AdminAccountsList}, &list); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(stdout).Encode(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tENABLED\tNAME\tCREATED")
		for _, x := range list {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", x.ID, x.Role, x.Enabled, x.Name, x.Created.Format(time.DateOnly))
		}
		return tw.Flush()
	case "add":
		id, err := arg(0, "account ID")
		if err != nil {
			return err
		}
		if *role == "" {
			return usageError{"accounts add: --role is required"}
		}
		req = twin.AdminRequest{Op: twin.AdminAccountsAdd, ID: id, Role: *role, Name: name}
		if *newPW != "" {
			req.Password = newPW
		}
		var out twin.AccountReply
		if err := a.do(ctx, req, &out); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", out.ID, out.Role)
		if out.Password != "" {
			fmt.Fprintf(stdout, "password: %s\n", out.Password)
		}
		return nil
	case "role":
		id, err := arg(0, "account ID")
		if err != nil {
			return err
		}
		r, err := arg(1, "role")
		if err != nil {
			return err
		}
		req = twin.AdminRequest{Op: twin.AdminAccountsUpdate, ID: id, Role: r}
	case "disable", "enable":
		id, err := arg(0, "account ID")
		if err != nil {
			return err
		}
		on := verb == "enable"
		req = twin.AdminRequest{Op: twin.AdminAccountsUpdate, ID: id, Enabled: &on}
	case "passwd":
		id := ""
		if len(rest) > 0 {
			id = rest[0]
		}
		pw := *newPW
		made := pw == ""
		if made {
			pw = authz.NewPassword()
		}
		req = twin.AdminRequest{Op: twin.AdminAccountsUpdate, ID: id, Password: &pw}
		if err := a.resolvePassword(); err != nil {
			return err
		}
		if (id == "" || id == a.username) && !authz.LooksLikeToken(a.password) {
			// One's own password changes only with the current one: the
			// password this command logs in with.
			req.Current = &a.password
		}
		if err := a.do(ctx, req, nil); err != nil {
			return err
		}
		if made {
			fmt.Fprintf(stdout, "new password: %s\n", pw)
		} else {
			fmt.Fprintln(stdout, "password changed")
		}
		return nil
	default:
		fmt.Fprint(stderr, accountsUsage)
		return usageError{fmt.Sprintf("accounts: unknown command %q", verb)}
	}
	var out authz.Account
	if err := a.do(ctx, req, &out); err != nil {
		return err
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%s: role %s, enabled %v\n", out.ID, out.Role, out.Enabled)
	return nil
}

const tokenUsage = `Usage: wotmq token [ID] [flags]
       wotmq token revoke [TOKEN] [flags]   (see "wotmq token revoke -h")

Issue an access token: for yourself, or (as an admin) for another account.
Use it as the MQTT password (user name empty or the account ID) or as an
HTTP bearer token. Disabling the account or changing its password voids it;
"wotmq token revoke" voids one token.
A token made while logged in with a token never outlives that token; log in
with the password for a longer one.

Example:
  wotmq token --username app --password "$APP_PW" --ttl 720h
`

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "revoke" {
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("wotmq token", flag.ContinueOnError)
	var a adminConn
	a.flags(fs)
	ttl := fs.Duration("ttl", 0, "token lifetime (default 24h; logged in with a token, what is left of it: a token never outlives the one that made it)")
	rest, err := parseAdmin(fs, args, stderr, tokenUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	req := twin.AdminRequest{Op: twin.AdminToken}
	if *ttl > 0 {
		req.TTL = ttl.String()
	}
	if len(rest) > 0 {
		req.ID = rest[0]
	}
	var out twin.TokenReply
	if err := a.do(ctx, req, &out); err != nil {
		return err
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintln(stdout, out.Token)
	fmt.Fprintf(stderr, "expires %s\n", out.Expires.Format(time.RFC3339))
	return nil
}
