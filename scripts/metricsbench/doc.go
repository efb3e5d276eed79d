// Package metricsbench measures what prometheus/client_golang would cost
// wotmq beside its hand-written exposition (docs/operations.md, "Why no
// client library"): a counter increment as on the message path, and a
// whole /metrics scrape of a real hub, the same series written both ways.
// It is a module of its own so that the hub does not depend on
// client_golang. Run it with
//
//	cd scripts/metricsbench && go test -bench . -benchmem
package metricsbench
