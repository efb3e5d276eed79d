#!/usr/bin/env bash
# make bench: the shapes of the performance issue (15) through
#   (a) a wotmq hub as a user runs it: `wotmq serve --dev --rate-limit 0`,
#       Badger in a fresh directory (QoS 1 stored before PUBACK),
#   (b) Mosquitto as a plain relay (installed with apt-get if missing),
#   (c) bare Mochi as a plain relay (cmd/mochi-relay),
# each its own process on loopback. The brokers take turns for every shape
# (A B C A B C ..., ROUNDS rounds) so that the machine's changing load
# shifts them alike; the table (medians, ratios, targets) goes into
# docs/benchmarks.md between <!-- bench:begin --> and <!-- bench:end -->.
# The idle shapes run on freshly started brokers, round by round, so that
# the resident memory per connection is that of the idle connections.
# Every server it starts is stopped when it ends, also on failure. Every
# run is bounded in time (warm-up + window + at most the drain).
#
# Settings (environment): WOTMQ, RELAY (binaries), DOC, BENCH_PORT (first
# of four loopback ports: the brokers and the hub's metrics), BENCH_ROUNDS (3), BENCH_DURATION (3s),
# BENCH_WARMUP (1s), BENCH_SCENARIOS (wotmq bench --scenarios; default the
# issue's shapes), BENCH_PAYLOADS (64,1024), BENCH_IDLE (10000 idle
# connections; 0: no idle shapes), BENCH_IDLE_ROUNDS (3), BENCH_IDLE_MAX
# (connections of the fd-limit shape; default the open file limit less
# 1,000; 0: skip), BENCH_ARGS (more wotmq bench flags), BENCH_PPROF (a
# loopback address for the hub's profiler, e.g. 127.0.0.1:6060),
# BENCH_RESULTS (directory the runs' JSON results are kept in, to redo the
# table: wotmq bench report --doc FILE DIR/*.json; bin/bench-results),
# BENCH_WOTMQ_BEFORE (another wotmq binary, e.g. a build of main: it runs
# as a fourth broker, "wotmq-before", in the same turns, so that a change
# to the hub shows beside its baseline in one table).
#
# A quicker look (about 3 min): BENCH_ROUNDS=1 BENCH_IDLE=0 BENCH_IDLE_MAX=0.
set -euo pipefail

WOTMQ=${WOTMQ:-bin/wotmq}
RELAY=${RELAY:-bin/mochi-relay}
DOC=${DOC:-docs/benchmarks.md}
PORT=${BENCH_PORT:-21883}
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-3s}
WARMUP=${BENCH_WARMUP:-1s}
SCENARIOS=${BENCH_SCENARIOS:-}
PAYLOADS=${BENCH_PAYLOADS:-64,1024}
IDLE=${BENCH_IDLE:-10000}
IDLE_ROUNDS=${BENCH_IDLE_ROUNDS:-3}
RESULTS=${BENCH_RESULTS:-bin/bench-results}
BEFORE=${BENCH_WOTMQ_BEFORE:-}
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

work=$(mktemp -d "${TMPDIR:-/tmp}/wotmq-bench.XXXXXX")
pids=()
# stop_servers stops the servers started last: SIGTERM, and SIGKILL if one
# has not ended 30 s later.
stop_servers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 300); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
cleanup() {
	stop_servers
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Thousands of connections: the brokers started below inherit the raised
# limit, and wotmq bench raises its own to the same.
ulimit -n "$(ulimit -Hn)"
IDLE_MAX=${BENCH_IDLE_MAX:-$(($(ulimit -n) - 1000))}
if [ "$IDLE" -gt "$(($(ulimit -n) - 1000))" ]; then
	echo "bench: open file limit $(ulimit -n): lowering the idle shape from $IDLE to $(($(ulimit -n) - 1000)) connections" >&2
	IDLE=$(($(ulimit -n) - 1000))
fi

if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
	echo "bench: installing mosquitto" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y mosquitto >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
mosq_version=$({ "$MOSQUITTO" -h 2>/dev/null || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -1)
mochi_version=$(go list -m -f '{{.Version}}' github.com/mochi-mqtt/server/v2 2>/dev/null || echo "")
W_LABEL="wotmq (Badger, --dev)"
M_LABEL="Mosquitto ${mosq_version:-} relay"
C_LABEL="Mochi ${mochi_version:-} relay"

# Mosquitto as installed, but for its own port, no persistence (its
# default), Nagle off, as Go's sockets (wotmq, Mochi) have it, and queues
# as deep as the others': with its default of 1,000 queued messages per
# client it drops QoS 1 messages to a consumer that falls behind (wotmq
# and Mochi do not), and would look faster for losing them.
cat >"$work/mosquitto.conf" <<CONF
listener $((PORT + 1)) 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
max_queued_messages 1000000
max_inflight_messages 1000
log_dest stderr
log_type error
log_type warning
CONF

# wotmq as a user runs it for this load: --dev (no credentials on
# loopback), no rate limit; the listeners the benchmark does not use off;
# no connection limit (the fd-limit shape holds more than its default).
# Its metrics (on loopback) say what it dropped, read after the busy shapes.
hub_flags=(--dev --rate-limit 0 --max-connections 0 --http-addr off --metrics-addr "127.0.0.1:$((PORT + 3))" --ws-addr off --log-level warn)
[ -n "${BENCH_PPROF:-}" ] && hub_flags+=(--pprof-addr "$BENCH_PPROF")

# start_servers starts the three brokers, wotmq on a fresh store, and sets
# AGAINST to the --against flags naming them with their process IDs.
start_servers() {
	rm -rf "$work/wotmq-data"
	"$WOTMQ" serve "${hub_flags[@]}" --data "$work/wotmq-data" --mqtt-addr "127.0.0.1:$PORT" >>"$work/wotmq.log" 2>&1 &
	pids+=($!)
	AGAINST=(--against "$W_LABEL=wotmq@127.0.0.1:$PORT#$!")
	"$MOSQUITTO" -c "$work/mosquitto.conf" >>"$work/mosquitto.log" 2>&1 &
	pids+=($!)
	AGAINST+=(--against "$M_LABEL=raw@127.0.0.1:$((PORT + 1))#$!")
	"$RELAY" --addr "127.0.0.1:$((PORT + 2))" >>"$work/mochi.log" 2>&1 &
	pids+=($!)
	AGAINST+=(--against "$C_LABEL=raw@127.0.0.1:$((PORT + 2))#$!")
	if [ -n "$BEFORE" ]; then
		rm -rf "$work/before-data"
		"$BEFORE" serve "${hub_flags[@]}" --metrics-addr "127.0.0.1:$((PORT + 5))" --data "$work/before-data" \
			--mqtt-addr "127.0.0.1:$((PORT + 4))" >>"$work/before.log" 2>&1 &
		pids+=($!)
		AGAINST+=(--against "wotmq-before (Badger, --dev)=wotmq@127.0.0.1:$((PORT + 4))#$!")
	fi
}

logs() {
	for f in wotmq mosquitto mochi before; do
		[ -s "$work/$f.log" ] && { echo "--- $f log (end)" >&2; tail -15 "$work/$f.log" >&2; }
	done
	return 1
}

# bench OUT ARGS...: one interleaved wotmq bench run into $work/OUT.json.
bench() {
	local out=$1
	shift
	"$WOTMQ" bench "${AGAINST[@]}" --wait 15s --timeout 10s --duration "$DURATION" --warmup "$WARMUP" \
		--payloads "$PAYLOADS" --json "$@" "${EXTRA[@]}" >"$RESULTS/$out.json" || logs
	reports+=("$RESULTS/$out.json")
}

reports=()
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
start=$(date +%s)
start_servers
busy=()
[ -n "$SCENARIOS" ] && busy=(--scenarios "$SCENARIOS")
echo "bench: the event and action shapes, $ROUNDS rounds, brokers interleaved" >&2
bench busy --rounds "$ROUNDS" "${busy[@]}"
dropped="unknown (no curl)"
if command -v curl >/dev/null; then
	dropped=$(curl -s "http://127.0.0.1:$((PORT + 3))/metrics" | sed -n 's/^wotmq_messages_dropped_total{reason="\([a-z_]*\)"} \(.*\)/\1 \2/p' | paste -sd, - | sed 's/,/, /g' || true)
fi
echo "bench: messages wotmq dropped by its own count: ${dropped:-none}" >&2
stop_servers

if [ "$IDLE" -gt 0 ]; then
	for round in $(seq "$IDLE_ROUNDS"); do
		echo "bench: idle $IDLE, round $round of $IDLE_ROUNDS, on fresh brokers" >&2
		start_servers
		bench "idle-$round" --rounds 1 --first-round "$round" --scenarios "idle:$IDLE" --duration 3s --warmup -1s
		stop_servers
	done
fi
if [ "$IDLE_MAX" -gt 0 ] && [ "$IDLE_MAX" -ne "$IDLE" ]; then
	echo "bench: idle $IDLE_MAX (the open file limit), on fresh brokers" >&2
	start_servers
	bench idle-max --rounds 1 --scenarios "idle:$IDLE_MAX" --duration 5s --warmup -1s --timeout 30s
	stop_servers
fi

"$WOTMQ" bench report --doc "$DOC" \
	--note "The load tool (wotmq bench: its own minimal MQTT 5 clients on plain sockets, loadtest/raw.go) runs on the same machine and shares its CPUs with the brokers. wotmq stores every event and request in Badger (QoS 1 before its PUBACK); Mosquitto (no persistence) and Mochi only relay the same traffic on plain topics. Actions through wotmq take the twin path (invokeaction, the request to the agent, its completed status, the final reply); through the relays the same clients do MQTT 5 request/response (ResponseTopic, CorrelationData). Messages wotmq dropped to slow consumers by its own count (wotmq_messages_dropped_total, all event and action shapes): ${dropped:-none}. make bench took $(($(date +%s) - start)) s." \
	"${reports[@]}"
"$WOTMQ" bench report "${reports[@]}" | grep '^|'
echo "bench: wrote $DOC" >&2
