package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/migrate"
)

// `wotmq export` and `wotmq import`: a single node's or a running
// cluster's data into an archive, and an archive into a single node or a
// cluster (docs/cluster.md, "Moving
// a single node's data in").

const exportUsage = `Usage: wotmq export (--data DIR | --nats-url URL,...) [--out FILE]

Write everything a hub holds into one archive (gzip'd JSON lines,
docs/cluster.md "Moving a single node's data in"): Things with their
agents, latest values, history, requests (unfinished, outcomes), desired
states, presence, retained messages of free topics, accounts (with their
password hashes: keep the archive like the data directory), access lists
and access rules. "wotmq import" writes it into a single node or a
cluster.

--data DIR reads a stopped single node's data directory. A running hub
keeps it locked: stop it first, or take a backup and export that:
  wotmq backup move.backup
  wotmq restore --data /tmp/wotmq-copy /var/lib/wotmq/backups/move.backup
  wotmq export --data /tmp/wotmq-copy --out wotmq.archive

--nats-url URL,... reads a running cluster's stores through any of its
nodes' NATS (a node's embedded NATS listens on 127.0.0.1 and says where
in its log line "cluster stores open"): a cluster's backup. It writes
nothing into the cluster and changes none of its buckets or streams.
  wotmq export --nats-url nats://127.0.0.1:4222 --out cluster.archive

Flags:
`

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq export", flag.ContinueOnError)
	data := fs.String("data", "", "data directory of the stopped hub")
	urls := fs.String("nats-url", "", "a running cluster's NATS client URLs, comma-separated, to export from")
	out := fs.String("out", "-", "archive file to write (\"-\": standard output)")
	rest, err := parseAdmin(fs, args, stderr, exportUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if (*data == "") == (*urls == "") || len(rest) > 0 {
		return usageError{"export: want either --data DIR or --nats-url URL"}
	}
	export := func(w io.Writer) (migrate.Counts, error) {
		if *urls != "" {
			return hub.ExportCluster(ctx, strings.Split(*urls, ","), w, nil)
		}
		return hub.Export(ctx, *data, w, nil)
	}
	if *data != "" {
		if err := sameOwner(*data); err != nil {
			return err
		}
	}
	if *out == "-" {
		c, err := export(stdout)
		if err == nil {
			fmt.Fprintf(stderr, "exported %s\n", c)
		}
		return err
	}
	// The archive appears under its name only once complete.
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	c, err := export(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s\n", c, *out)
	return nil
}

const importUsage = `Usage: wotmq import (--data DIR | --nats-url URL,...) [--merge] FILE

Write an archive of "wotmq export" into a single node's data directory
(made when missing; no hub may run on it) or into a cluster, through any
of its nodes' NATS (--nats-url; a node's embedded NATS listens on
127.0.0.1 and says where in its log line "cluster stores open"). The hubs
of the cluster may run meanwhile.

The whole archive is checked first: a damaged or cut-short archive writes
nothing. A target holding Things or accounts that are not in the archive
is refused unless --merge is given; a Thing of another agent there is
always refused. Importing the same archive again changes nothing (no
history is written twice).

Examples:
  wotmq import --data /var/lib/wotmq-new wotmq.archive
  wotmq import --nats-url nats://127.0.0.1:4222 wotmq.archive

Flags:
`

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq import", flag.ContinueOnError)
	var o hub.ImportOptions
	fs.StringVar(&o.DataDir, "data", "", "data directory of a stopped single node to import into")
	urls := fs.String("nats-url", "", "a cluster's NATS client URLs, comma-separated, to import into")
	fs.BoolVar(&o.Merge, "merge", false, "add the archive to a target that holds other Things or accounts")
	fs.DurationVar(&o.Retention, "retention", 0, "how long imported history is kept, counted from the import (default: the hub's default retention, 7 days)")
	rest, err := parseAdmin(fs, args, stderr, importUsage)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *urls != "" {
		o.NATSURLs = strings.Split(*urls, ",")
	}
	if len(rest) != 1 || (o.DataDir == "") == (len(o.NATSURLs) == 0) {
		return usageError{"import: want one archive FILE and either --data DIR or --nats-url URL"}
	}
	if o.DataDir != "" {
		if err := sameOwner(o.DataDir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	file := rest[0]
	open := func() (io.ReadCloser, error) { return os.Open(file) }
	c, err := hub.Import(ctx, open, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s\n", c)
	return nil
}
