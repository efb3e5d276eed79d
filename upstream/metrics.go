package upstream

import (
	"context"

	"github.com/wotmq/wotmq/exposition"
)

// WriteMetrics writes the bridge's metrics (docs/operations.md). The
// backlog is counted when scraped, reading history keys only.
func (b *Bridge) WriteMetrics(ctx context.Context, e *exposition.Writer) {
	up := 0.0
	if b.Connected() {
		up = 1
	}
	e.One("wotmq_upstream_connected", "gauge", "1 while the link to the upstream (cloud) hub is up.", up)
	backlog, _ := b.Backlog(ctx)
	e.One("wotmq_upstream_backlog_records", "gauge", "History records of exported Things not yet forwarded upstream.", float64(backlog))
	b.mu.Lock()
	n := len(b.things)
	b.mu.Unlock()
	e.One("wotmq_upstream_things", "gauge", "Things registered at the upstream hub by this edge hub.", float64(n))
	e.One("wotmq_upstream_forwarded_total", "counter", "History records the upstream hub acknowledged.", float64(b.forwarded.Load()))
	e.One("wotmq_upstream_refused_total", "counter", "History records the upstream hub refused for good (skipped; see the log).", float64(b.refused.Load()))
	e.One("wotmq_upstream_dropped_total", "counter", "History records the edge's history cap (--max-history) deleted before they were forwarded.", float64(b.dropped.Load()))
	e.One("wotmq_upstream_clashes_total", "counter", "Exported Things the upstream hub refused to register (another agent holds the ID, or the TD is over its limits); tried again when the TD changes or the link returns.", float64(b.clashes.Load()))
}
