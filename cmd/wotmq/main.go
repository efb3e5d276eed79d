// Command wotmq is the wotmq hub and its command-line tools.
//
// Run "wotmq help" for the commands and "wotmq serve -h" for the hub's
// settings.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wotmq:", err)
		os.Exit(exitCode(err))
	}
}

const usage = `wotmq serves digital twins of IoT devices over MQTT 5, the W3C Web of Things way.

Usage:
  wotmq serve [flags]    run the hub (see "wotmq serve -h")
  wotmq accounts ...     manage accounts (see "wotmq accounts -h")
  wotmq acl ...          manage the access rules of free topics (see "wotmq acl -h")
  wotmq token [ID]       issue an access token
  wotmq token revoke     revoke one (see "wotmq token revoke -h")
  wotmq conformance ...  check a hub against the wire contract (see "wotmq conformance -h")
  wotmq backup [NAME]    write an online backup on the hub's host (admin; see "wotmq backup -h")
  wotmq restore ...      load a backup into a new data directory (see "wotmq restore -h")
  wotmq reset-password   set a lost password in a stopped hub or a cluster (see "wotmq reset-password -h")
  wotmq export ...       write a stopped hub's or a cluster's data into one archive (see "wotmq export -h")
  wotmq import ...       load an archive into a data directory or a cluster (see "wotmq import -h")
  wotmq bench ...        load a hub or any MQTT broker and measure it (see "wotmq bench -h")
  wotmq version          print the version, VCS revision and Go version (--json)
  wotmq help             print this help

Client commands (each with -h for its flags and an example; --json for scripts):
  wotmq things                     list the Things in the directory
  wotmq td ID                      print a Thing's twin TD
  wotmq read ID [PROP]             read a property (or all)
  wotmq observe ID [PROP]          print a property's values as they change
  wotmq write ID PROP VALUE        write a property and wait until applied
  wotmq invoke ID ACTION [INPUT]   invoke an action, print its statuses and output
  wotmq sub FILTER                 print messages on a raw MQTT topic filter
  wotmq history ID [NAME]          print stored events and property values

Every flag of "serve" and of the client commands can also be set with an
environment variable named WOTMQ_ and the flag name in upper case with - as
_ (e.g. WOTMQ_MQTT_ADDR, WOTMQ_BROKER, WOTMQ_USERNAME, WOTMQ_PASSWORD).
`

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "accounts":
		return accounts(ctx, args[1:], stdout, stderr)
	case "acl":
		return acl(ctx, args[1:], stdout, stderr)
	case "token":
		return token(ctx, args[1:], stdout, stderr)
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], stdout, stderr)
	case "restore":
		return restore(ctx, args[1:], stdout, stderr)
	case "reset-password":
		return resetPassword(ctx, args[1:], stdout, stderr)
	case "export":
		return cmdExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdImport(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "things":
		return cmdThings(ctx, args[1:], stdout, stderr)
	case "td":
		return cmdTD(ctx, args[1:], stdout, stderr)
	case "read":
		return cmdRead(ctx, args[1:], stdout, stderr)
	case "observe":
		return cmdObserve(ctx, args[1:], stdout, stderr)
	case "write":
		return cmdWrite(ctx, args[1:], stdout, stderr)
	case "invoke":
		return cmdInvoke(ctx, args[1:], stdout, stderr)
	case "sub":
		return cmdSub(ctx, args[1:], stdout, stderr)
	case "history":
		return cmdHistory(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		return cmdVersion(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
