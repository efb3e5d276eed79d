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
  wotmq token [ID]       issue an access token
  wotmq conformance ...  check a hub against the wire contract (see "wotmq conformance -h")
  wotmq version          print the version
  wotmq help             print this help

Every flag of "serve" can also be set with an environment variable named
WOTMQ_ and the flag name in upper case with - as _ (e.g. WOTMQ_MQTT_ADDR).
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
	case "token":
		return token(ctx, args[1:], stdout, stderr)
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "wotmq", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
