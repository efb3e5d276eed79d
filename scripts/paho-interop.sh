#!/bin/sh
# Runs the Eclipse Paho MQTT interoperability suite (client_test5.py, 27
# MQTT 5 tests; client_test.py, 10 MQTT 3.1.1 tests) against a wotmq hub
# started as a user would: serve --dev on loopback, with only two settings
# the suite needs, each something any user can give:
#   --max-keepalive 60s                          (test_server_keep_alive)
#   wotmq acl deny '*' test/nosubscribe --subscribe  (test_subscribe_failure)
# The admin account that adds the rule is made by --admin-password-file.
#
# usage: scripts/paho-interop.sh PAHO_DIR [PORT]
#   PAHO_DIR  a clone of https://github.com/eclipse/paho.mqtt.testing
#   PORT      the MQTT port on 127.0.0.1 (default 28830)
# Needs python3 and go. Prints each test's result; the suite's own output
# is kept in $OUT (default: a temporary directory).
set -eu
PAHO=$(cd "${1:?usage: $0 PAHO_DIR [PORT]}" && pwd)/interoperability
PORT=${2:-28830}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
DATA=$(mktemp -d)
trap 'kill $HUB 2>/dev/null; wait $HUB 2>/dev/null; rm -rf "$DATA"' EXIT INT TERM

go build -o "$OUT/wotmq" "$ROOT/cmd/wotmq"
printf 'paho-interop-admin-pw\n' > "$DATA.pw"
"$OUT/wotmq" serve --dev --data "$DATA/store" --mqtt-addr 127.0.0.1:$PORT \
	--ws-addr off --wss-addr off --mqtts-addr off --http-addr off --https-addr off \
	--metrics-addr off --mdns=false --admin-password-file "$DATA.pw" \
	--max-keepalive 60s --log-level warn > "$OUT/hub.log" 2>&1 &
HUB=$!
i=0
until "$OUT/wotmq" acl deny '*' test/nosubscribe --subscribe --broker 127.0.0.1:$PORT \
	--username admin --password-file "$DATA.pw" --timeout 2s > "$OUT/acl.log" 2>&1; do
	i=$((i+1))
	[ $i -lt 30 ] || { cat "$OUT/hub.log" "$OUT/acl.log"; exit 1; }
	sleep 1
done
rm -f "$DATA.pw"

cd "$PAHO"
# localhost is the suite's host. client_test5.py takes -p out of argv
# before unittest reads it; client_test.py does not, so unittest is handed
# an argv without it (the suite's files are run as they are).
python3 client_test5.py -p $PORT > "$OUT/v5.log" 2>&1 || true
python3 -c '
import sys, unittest, __main__
_paho_main = unittest.main
unittest.main = lambda *a, **k: _paho_main(*a, argv=[sys.argv[0]], **k)
sys.argv = ["client_test.py", "-p", sys.argv[1]]
exec(compile(open("client_test.py").read(), "client_test.py", "exec"), __main__.__dict__)
' $PORT > "$OUT/v311.log" 2>&1 || true

# The per-test result: unittest prints each failure/error by test name.
report() {
	file=$1; shift
	grep -q "^Ran $# tests" "$file" || { echo "  the suite did not run its $# tests; see $file"; tail -n 20 "$file"; exit 1; }
	pass=0; total=0
	for t in "$@"; do
		total=$((total+1))
		if grep -Eq "^(FAIL|ERROR): $t " "$file"; then
			echo "  $t: fail"
		else
			echo "  $t: pass"; pass=$((pass+1))
		fi
	done
	echo "  $pass of $total passed"
}
# unittest runs the methods whose names start with "test" (client_test.py's
# will_message_test is not one of them).
tests() { grep -o 'def test[A-Za-z0-9_]*' "$1" | sed 's/def //'; }
echo "MQTT 5 (client_test5.py):"
report "$OUT/v5.log" $(tests client_test5.py)
echo "MQTT 3.1.1 (client_test.py):"
report "$OUT/v311.log" $(tests client_test.py)
tail -n 3 "$OUT/v5.log" "$OUT/v311.log"
echo "logs in $OUT"
