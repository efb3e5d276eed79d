package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/wotmq/wotmq/hub"
)

// version names this build where the Go toolchain's build information
// cannot (a build from a source archive, without VCS): go build -ldflags
// "-X main.version=v1.2.0". A build from a checkout needs nothing: the
// toolchain records the module version, the revision and its time
// (hub.ReadBuild).
var version = ""

// cmdVersion prints the build: module version, VCS revision and time, Go
// version and platform; --json for scripts.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the build as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: wotmq version [--json]\n\nPrints the module version, the VCS revision and its time, and the Go version of this binary.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return runVerb(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	b := hub.ReadBuild(version)
	if *asJSON {
		return printJSON(stdout, b)
	}
	_, err := fmt.Fprintln(stdout, "wotmq", b)
	return err
}
