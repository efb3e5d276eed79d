package main

import (
	"flag"
	"strings"
)

// clusterFlags are the settings of a node of a cluster (docs/cluster.md).
func clusterFlags(fs *flag.FlagSet, m *Main) {
	c := &m.Options.Cluster
	fs.StringVar(&c.Name, "cluster", "", "run as a node of the cluster NAME on NATS JetStream (docs/cluster.md); every node gives the same name (default: a single node on Badger)")
	fs.StringVar(&c.Listen, "cluster-listen", "", "this node's NATS route address HOST:PORT, where the other nodes reach it (with --cluster)")
	fs.Var((*commaList)(&c.Routes), "cluster-routes", "the other nodes' route addresses, comma-separated: nats://HOST:PORT,... (with --cluster)")
	fs.Var((*commaList)(&c.NATSURLs), "nats-url", "join an existing NATS deployment with JetStream, comma-separated URLs, instead of embedding NATS (with --cluster)")
	fs.StringVar(&c.NodeName, "node-name", "", "this node's name in the cluster, logs and metrics, unique per node (with --cluster; default: the host name)")
}

// commaList is a flag of comma-separated values.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }

func (l *commaList) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
