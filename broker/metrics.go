package broker

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wotmq/wotmq/exposition"
	"github.com/wotmq/wotmq/wot"
)

// msgKind classifies a message by its topic, for the message counters.
type msgKind uint8

const (
	kindOther    msgKind = iota // a plain broker topic (in); a reply (out)
	kindTD                      // a TD: AgentUpdateTD, twin TDs, the hub TD
	kindEvent                   // AgentPublishEvent, events relayed
	kindProperty                // AgentUpdateProperty, values relayed
	kindPresence                // presence set by an agent, or published
	kindReply                   // an agent's answer, or a reply to a consumer
	kindAction                  // invokeaction
	kindWrite                   // writeproperty
	kindCancel                  // cancelaction
	kindHistory                 // history and outcome-history queries
	kindAdmin                   // admin requests
	kindRequest                 // requests to agents
	kindStatus                  // action status, desired state, delta
	kindSignal                  // real-time channel signalling (relayed, not stored)
	numKinds
)

var kindNames = [numKinds]string{"other", "td", "event", "property", "presence", "reply", "action", "write", "cancel", "history", "admin", "request", "status", "signal"}

// writes reports whether a client publish of this kind writes to the
// store (refused while the disk is nearly full).
func (k msgKind) writes() bool { return k != kindOther && k != kindHistory && k != kindSignal }

// classify tells a topic's kind from its levels without allocating. It
// does not validate: the hub refuses malformed topics itself.
func classify(topic string) msgKind {
	var lv [7]string
	n := 0
	for rest, more := topic, true; more; {
		if n == len(lv) {
			return kindOther
		}
		lv[n], rest, more = strings.Cut(rest, "/")
		n++
	}
	switch {
	case lv[0] == "things" && n >= 3:
		return thingKind(lv[2:n])
	case lv[0] == "agents" && n == 3 && lv[2] == "requests":
		return kindRequest
	case lv[0] == "agents" && n == 3 && lv[2] == "replies":
		return kindReply
	case lv[0] == "agents" && n == 3 && lv[2] == "signals":
		return kindSignal
	case lv[0] == "agents" && n >= 5 && lv[2] == "things":
		return thingKind(lv[4:n])
	case lv[0] == "wotmq" && n == 2 && lv[1] == "td":
		return kindTD
	case lv[0] == "wotmq" && n == 2 && lv[1] == "admin":
		return kindAdmin
	}
	return kindOther
}

// thingKind classifies the levels after things/{id} (or
// agents/{a}/things/{id}).
func thingKind(lv []string) msgKind {
	last := lv[len(lv)-1]
	switch len(lv) {
	case 1:
		switch last {
		case "td":
			return kindTD
		case "history":
			return kindHistory
		case "presence":
			return kindPresence
		case "delta":
			return kindStatus
		case "channel":
			return kindSignal
		}
	case 2:
		switch lv[0] {
		case "events":
			return kindEvent
		case "properties":
			return kindProperty
		case "actions":
			return kindAction
		}
	case 3:
		switch {
		case last == "history":
			return kindHistory
		case lv[0] == "properties" && last == "set":
			return kindWrite
		case last == "status" || last == "desired":
			return kindStatus
		case lv[0] == "actions" && last == "cancel":
			return kindCancel
		}
	}
	return kindOther
}

// latencyBuckets are the upper bounds (seconds) of the action latency
// histogram: from a request's acceptance to its outcome.
var latencyBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

type histogram struct {
	counts [len(latencyBuckets) + 1]atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Int64                           // nanoseconds
}

func (hg *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && s > latencyBuckets[i] {
		i++
	}
	hg.counts[i].Add(1)
	hg.sum.Add(int64(d))
}

// ops is the broker's operational state: counters for the metrics and the
// per-connection rate buckets.
// The message path touches only atomics here.
type ops struct {
	in, out          [numKinds]atomic.Uint64
	refused          map[wot.Code]*atomic.Uint64 // read-only after init
	refusedOther     atomic.Uint64
	connections      atomic.Uint64
	floodDisconnects atomic.Uint64
	protocolErrors   atomic.Uint64
	connectTimeouts  atomic.Uint64 // sockets closed for sending no CONNECT in time
	socketsRefused   atomic.Uint64 // sockets closed at accept for the connection cap
	// socketsRefusedLogged is when the last refused socket was logged
	// (Unix ns): a flood is logged once every ten seconds.
	socketsRefusedLogged atomic.Int64
	latency              [2][2]histogram // [invokeaction, writeproperty][completed, failed]

	buckets sync.Map // *mqtt.Client -> *bucket
}

func (o *ops) init() {
	o.refused = map[wot.Code]*atomic.Uint64{}
	for _, c := range wot.Codes() {
		o.refused[c] = new(atomic.Uint64)
	}
}

func (o *ops) refusal(c wot.Code) {
	if n, ok := o.refused[c]; ok {
		n.Add(1)
		return
	}
	o.refusedOther.Add(1)
}

// observe records a request's latency when it reaches its outcome.
func (o *ops) observe(op string, status wot.Status, d time.Duration) {
	i, j := 0, 0
	if op == wot.OpWriteProperty {
		i = 1
	}
	switch status {
	case wot.StatusCompleted:
	case wot.StatusFailed:
		j = 1
	default:
		return
	}
	o.latency[i][j].observe(d)
}

// WriteMetrics writes the broker's metrics in the Prometheus text
// exposition format (0.0.4): the message path, Mochi's counters, the
// request latencies and the disk reserve. The caller writes the store's
// and the process's (package hub); docs/operations.md explains them all.
func (h *Hub) WriteMetrics(w io.Writer) {
	bw := bufio.NewWriter(w)
	h.writeMetrics(exposition.NewWriter(bw))
	_ = bw.Flush()
}

func (h *Hub) writeMetrics(e *exposition.Writer) {
	info := h.srv.Info
	ld := func(p *int64) float64 { return float64(atomic.LoadInt64(p)) }

	e.One("wotmq_connections", "gauge", "MQTT clients connected now.", ld(&info.ClientsConnected))
	e.One("wotmq_connections_total", "counter", "MQTT connections accepted since the start.", float64(h.ops.connections.Load()))
	e.One("wotmq_sockets", "gauge", "Network connections open now, those that have not sent CONNECT yet included (bounded by --max-connections).", float64(h.sockets()))
	e.One("wotmq_sockets_refused_total", "counter", "Network connections closed at once because --max-connections sockets (and the few kept to answer 0x89) were open.", float64(h.ops.socketsRefused.Load()))
	e.One("wotmq_connect_timeouts_total", "counter", "Network connections closed for sending no CONNECT within --connect-timeout.", float64(h.ops.connectTimeouts.Load()))
	e.One("wotmq_agents_online", "gauge", "Agents subscribed to their requests topic.", float64(h.core.AgentsOnline()))

	e.Family("wotmq_messages_received_total", "counter", "Publishes from clients, by kind, before any check.")
	for k := range numKinds {
		e.Sample("wotmq_messages_received_total", `kind="`+kindNames[k]+`"`, float64(h.ops.in[k].Load()))
	}
	e.Family("wotmq_messages_sent_total", "counter", "Messages the hub published, by kind (once per message, before fan-out to subscribers).")
	for k := range numKinds {
		e.Sample("wotmq_messages_sent_total", `kind="`+kindNames[k]+`"`, float64(h.ops.out[k].Load()))
	}
	e.Family("wotmq_messages_refused_total", "counter", "Publishes the hub refused, by error code.")
	codes := wot.Codes()
	slices.Sort(codes)
	for _, c := range codes {
		e.Sample("wotmq_messages_refused_total", `code="`+string(c)+`"`, float64(h.ops.refused[c].Load()))
	}
	e.Family("wotmq_messages_dropped_total", "counter", "Messages not delivered to a client whose queue was full (slow consumer), by reason.")
	e.Sample("wotmq_messages_dropped_total", `reason="client_queue_full"`, ld(&info.MessagesDropped))
	e.Sample("wotmq_messages_dropped_total", `reason="inflight_full"`, ld(&info.InflightDropped))
	e.One("wotmq_rate_limit_disconnects_total", "counter", "Clients disconnected for publishing far over the rate limit.", float64(h.ops.floodDisconnects.Load()))
	e.One("wotmq_protocol_errors_total", "counter", "Connections closed for a malformed or oversized packet, a protocol violation or an invalid topic alias.", float64(h.ops.protocolErrors.Load()))
	e.One("wotmq_mqtt_messages_received_total", "counter", "PUBLISH packets received by the broker.", ld(&info.MessagesReceived))
	e.One("wotmq_mqtt_messages_sent_total", "counter", "PUBLISH packets sent to clients (after fan-out).", ld(&info.MessagesSent))
	e.One("wotmq_mqtt_bytes_received_total", "counter", "Bytes received from clients.", ld(&info.BytesReceived))
	e.One("wotmq_mqtt_bytes_sent_total", "counter", "Bytes sent to clients.", ld(&info.BytesSent))
	e.One("wotmq_subscriptions", "gauge", "Subscriptions held by clients.", ld(&info.Subscriptions))
	e.One("wotmq_retained_messages", "gauge", "Retained messages held by the broker.", ld(&info.Retained))
	e.One("wotmq_inflight_messages", "gauge", "QoS 1 and 2 messages sent and not yet acknowledged.", ld(&info.Inflight))

	e.Family("wotmq_action_latency_seconds", "histogram", "Time from accepting a request to its outcome, by operation and outcome.")
	for i, op := range []string{wot.OpInvokeAction, wot.OpWriteProperty} {
		for j, st := range []string{"completed", "failed"} {
			hg := &h.ops.latency[i][j]
			labels := `op="` + op + `",status="` + st + `"`
			var cum uint64
			for b, le := range latencyBuckets {
				cum += hg.counts[b].Load()
				e.Sample("wotmq_action_latency_seconds_bucket", labels+`,le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"`, float64(cum))
			}
			cum += hg.counts[len(latencyBuckets)].Load()
			e.Sample("wotmq_action_latency_seconds_bucket", labels+`,le="+Inf"`, float64(cum))
			e.Sample("wotmq_action_latency_seconds_sum", labels, time.Duration(hg.sum.Load()).Seconds())
			e.Sample("wotmq_action_latency_seconds_count", labels, float64(cum))
		}
	}
}

// sent counts a message the hub publishes.
func (o *ops) sent(topic string) {
	k := classify(topic)
	if k == kindOther {
		k = kindReply // the hub publishes outside its scheme only on ResponseTopics
	}
	o.out[k].Add(1)
}
