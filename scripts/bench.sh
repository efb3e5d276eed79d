#!/usr/bin/env bash
# make bench: the load scenarios of `wotmq bench` through
#   (a) a wotmq hub with persistence (a fresh Badger directory, --dev),
#   (b) Mosquitto as a plain relay (installed if missing),
#   (c) bare Mochi as a plain relay (cmd/mochi-relay),
# one broker at a time, all on loopback, then the side-by-side table into
# docs/benchmarks.md between <!-- bench:begin --> and <!-- bench:end -->.
# Every server it starts is stopped when it ends, also on failure.
#
# Settings (environment): WOTMQ, RELAY (binaries), DOC, BENCH_PORT (first
# of three loopback ports), BENCH_DURATION, BENCH_WARMUP, BENCH_IDLE
# (connections of the idle scenario), BENCH_ARGS (more wotmq bench flags),
# BENCH_ONLY (a subset of: wotmq mosquitto mochi), BENCH_PPROF (a loopback
# address for the hub's profiler, e.g. 127.0.0.1:6060).
set -euo pipefail

WOTMQ=${WOTMQ:-bin/wotmq}
RELAY=${RELAY:-bin/mochi-relay}
DOC=${DOC:-docs/benchmarks.md}
PORT=${BENCH_PORT:-21883}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
IDLE=${BENCH_IDLE:-10000}
ONLY=${BENCH_ONLY:-wotmq mosquitto mochi}
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

work=$(mktemp -d "${TMPDIR:-/tmp}/wotmq-bench.XXXXXX")
server=""
# stop_server stops the server started last: SIGTERM, and SIGKILL if it
# has not ended 30 s later.
stop_server() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		for _ in $(seq 300); do
			kill -0 "$server" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
		server=""
	fi
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 connections: the brokers started below inherit the raised limit,
# and wotmq bench raises its own.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((IDLE + 1000)) ]; then
	echo "bench: open file limit $(ulimit -n) is below $((IDLE + 1000)); lowering the idle scenario to $(($(ulimit -n) - 1000)) connections" >&2
	IDLE=$(($(ulimit -n) - 1000))
fi

if ! command -v mosquitto >/dev/null; then
	echo "bench: installing mosquitto" >&2
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y mosquitto >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
	else
		sudo apt-get install -y mosquitto >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
	fi
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
mosq_version=$({ "$MOSQUITTO" -h 2>/dev/null || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -1)
mochi_version=$(go list -m -f '{{.Version}}' github.com/mochi-mqtt/server/v2 2>/dev/null || echo "")

# bench NAME LABEL TARGET PORT SCENARIOS: load the server started last,
# then stop it.
bench() {
	echo "bench: $2 on 127.0.0.1:$4 (pid $server): $5" >&2
	"$WOTMQ" bench --broker "127.0.0.1:$4" --target "$3" --pid "$server" --wait 15s --label "$2" \
		--duration "$DURATION" --warmup "$WARMUP" --idle "$IDLE" --scenarios "$5" --timeout 10s --json "${EXTRA[@]}" >"$work/$1.json"
	"$WOTMQ" bench report "$work/$1.json" >/dev/null # fails on a broken file
	stop_server
	reports+=("$work/$1.json")
}

# The idle scenario runs on a freshly started broker, so that its resident
# memory is that of the idle connections, not what the throughput
# scenarios left behind.
busy=fan-in,fan-out,action

reports=()
for which in $ONLY; do
	case $which in
	wotmq)
		port=$PORT
		# Listeners the benchmark does not use stay off, and limits that
		# would refuse its traffic (10,000 connections, thousands of
		# publishes a second from one agent) are lifted.
		help=$("$WOTMQ" serve -h 2>&1 || true)
		off=()
		for f in "http-addr off" "metrics-addr off" "max-connections 0" "rate-limit 0"; do
			if grep -q -- "-${f% *} " <<<"$help"; then off+=("--${f% *}" "${f#* }"); fi
		done
		[ -n "${BENCH_PPROF:-}" ] && off+=(--pprof-addr "$BENCH_PPROF")
		for run in busy idle; do
			rm -rf "$work/wotmq-data"
			"$WOTMQ" serve --dev --data "$work/wotmq-data" --mqtt-addr "127.0.0.1:$port" --ws-addr off \
				--log-level warn "${off[@]}" >"$work/wotmq.log" 2>&1 &
			server=$!
			scen=$busy
			[ $run = idle ] && scen=idle
			bench "wotmq-$run" "wotmq (Badger, --dev)" wotmq "$port" "$scen" || { tail -20 "$work/wotmq.log" >&2; exit 1; }
		done
		;;
	mosquitto)
		port=$((PORT + 1))
		cat >"$work/mosquitto.conf" <<-CONF
			listener $port 127.0.0.1
			allow_anonymous true
			set_tcp_nodelay true
			persistence false
			max_queued_messages 1000000
			max_inflight_messages 1000
			log_dest stderr
			log_type error
			log_type warning
		CONF
		for run in busy idle; do
			"$MOSQUITTO" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
			server=$!
			scen=$busy
			[ $run = idle ] && scen=idle
			bench "mosquitto-$run" "Mosquitto ${mosq_version:-} relay" raw "$port" "$scen" || { tail -20 "$work/mosquitto.log" >&2; exit 1; }
		done
		;;
	mochi)
		port=$((PORT + 2))
		for run in busy idle; do
			"$RELAY" --addr "127.0.0.1:$port" >"$work/mochi.log" 2>&1 &
			server=$!
			scen=$busy
			[ $run = idle ] && scen=idle
			bench "mochi-$run" "Mochi ${mochi_version:-} relay" raw "$port" "$scen" || { tail -20 "$work/mochi.log" >&2; exit 1; }
		done
		;;
	*)
		echo "bench: unknown broker $which in BENCH_ONLY" >&2
		exit 2
		;;
	esac
done

"$WOTMQ" bench report --doc "$DOC" \
	--note "The load tool runs on the same machine and shares its CPUs with the broker. wotmq stores every event and request in Badger before it acknowledges it; Mosquitto (no persistence) and Mochi only relay the same traffic on plain topics." \
	"${reports[@]}"
"$WOTMQ" bench report "${reports[@]}" | sed -n '/^| scenario/,$p' | grep -v -- '-->'
echo "bench: wrote $DOC" >&2
