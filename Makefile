# wotmq Makefile. `make run` starts a hub on its defaults; `make test` is
# what CI runs.
GO       ?= go
DATA     ?= ./wotmq-data
FUZZTIME ?= 10s
# VERSION names a build where the toolchain cannot (a source archive
# without .git); a build from a clone records its version, revision and
# time by itself (wotmq version).
VERSION  ?=
GOBUILD   = $(GO) build -buildvcs=auto -trimpath $(if $(VERSION),-ldflags '-X main.version=$(VERSION)')

.PHONY: all build run test mochi-test fmt-check vet interop-deps examples-deps js-deps race fuzz fuzz-short bench bench-go bench-hot crash soak clean package image config

all: build

build:
	$(GOBUILD) -o bin/wotmq ./cmd/wotmq

## run: start a development hub (MQTT :1883, WebSocket :9001, HTTP :8080,
## data in ./wotmq-data; clients on this machine need no credentials; not
## advertised on the LAN: --dev turns mDNS off unless --mdns is given)
run:
	$(GO) run ./cmd/wotmq serve --dev --data $(DATA)

## test: gofmt check, go vet, the npm packages of the interop checks, of
## examples/js and of the JavaScript client (js/, with Debian's chromium for
## its browser tests), race-enabled tests, short fuzz runs
test: fmt-check vet interop-deps examples-deps js-deps race mochi-test fuzz-short

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 ./...

## mochi-test: the tests of the patched Mochi copy in third_party/mochi
## (its own suite and one test per wotmq patch; docs/architecture.md).
## Mochi's TestWebsocketServeTLSAndClose is skipped: about one run in ten
## the race detector reports a race inside net/http's TLS test server in
## it; the hub does not use Mochi's WebSocket listener (broker/wslistener.go).
## -p 1: Mochi's tests of the server and of the listeners bind the same
## fixed port (:22222), so its packages must not run side by side.
mochi-test:
	cd third_party/mochi && $(GO) vet ./... && $(GO) test -race -count=1 -p 1 -skip '^TestWebsocketServeTLSAndClose$$' ./...

## interop-deps: node-wot and the TD playground validator for interop/,
## exactly as pinned in interop/package-lock.json (again only when the lock
## file changed). Without npm the interop tests skip themselves.
INTEROP_STAMP = interop/node_modules/.package-lock.json
interop-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the interop tests (node-wot, TD validator) will be skipped"; \
	elif [ ! -f $(INTEROP_STAMP) ] || [ interop/package-lock.json -nt $(INTEROP_STAMP) ]; then \
		npm ci --prefix interop --prefer-offline --no-audit --no-fund --loglevel=error; \
	fi

## examples-deps: MQTT.js for examples/js, as pinned in its
## package-lock.json (again only when the lock file changed). Without npm
## its test skips itself.
EXAMPLES_JS_STAMP = examples/js/node_modules/.package-lock.json
examples-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the test of examples/js (MQTT.js) will be skipped"; \
	elif [ ! -f $(EXAMPLES_JS_STAMP) ] || [ examples/js/package-lock.json -nt $(EXAMPLES_JS_STAMP) ]; then \
		npm ci --prefix examples/js --prefer-offline --no-audit --no-fund --loglevel=error; \
	fi

## js-deps: what the tests of the JavaScript client (js/) and the
## explorer's browser test (explorer/) need: MQTT.js and playwright-core
## as pinned in js/package-lock.json (again only when the lock file
## changed; playwright-core downloads no browser), and Debian's chromium
## for the browser tests, installed with apt-get when
## /usr/bin/chromium is missing and we run as root. Without them the tests
## skip themselves, saying why.
JS_STAMP = js/node_modules/.package-lock.json
js-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the tests of the JavaScript client (js/) will be skipped"; \
	elif [ ! -f $(JS_STAMP) ] || [ js/package-lock.json -nt $(JS_STAMP) ]; then \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix js --prefer-offline --no-audit --no-fund --loglevel=error; \
	fi
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests of js/"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
			echo "chromium could not be installed: the browser tests of js/ will be skipped"; \
	else \
		echo "/usr/bin/chromium not found (install Debian's chromium as root): the browser tests of js/ will be skipped"; \
	fi

# Each fuzzer for a bounded number of executions in CI; `make fuzz FUZZTIME=10m`
# for longer runs. CI counts executions rather than seconds: with a duration,
# Go 1.26's fuzz coordinator can report a spurious "context deadline exceeded"
# at the deadline on a loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZERS = ./wire:FuzzTopic ./wire:FuzzEscape ./td:FuzzParse ./td:FuzzValidate ./td:FuzzValidateValue ./td:FuzzDecodeAny ./td:FuzzValidateFast \
	./httpapi:FuzzThingPath ./httpapi:FuzzQuery ./httpapi:FuzzMergePatch ./hub:FuzzHTTPBody \
	./broker:FuzzPublish ./broker:FuzzWill ./broker:FuzzWire \
	./twin:FuzzAdminRequest ./twin:FuzzAgentReply ./twin:FuzzAgentStamp ./outbox:FuzzHistoryQuery \
	./proxy:FuzzDevicePayload ./proxy:FuzzProxyTD ./examples/screen:FuzzVP8KeyFrameSize ./explorer:FuzzExplorerInput \
	./loadtest:FuzzRawPacket ./authz:FuzzTopicRule ./bridge/homie:FuzzFromHomie ./inbox:FuzzRequestEncoding \
	./cluster:FuzzClusterBusDecode ./migrate:FuzzArchiveReader
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

fuzz:
	@set -e; for f in $(FUZZERS); do \
		pkg=$${f%%:*}; name=$${f##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## bench: the shapes of the performance issue (events QoS 0 and 1, fan-in
## and fan-out, 64 B and 1 KiB; actions with 1, 8, 64 requesters; 10,000
## idle connections and as many as the open file limit allows) through
## wotmq (serve --dev --rate-limit 0, Badger), Mosquitto and bare Mochi,
## each its own process on loopback, taking turns (3 rounds, medians);
## writes the table into docs/benchmarks.md (installs mosquitto if
## missing; about 10 min on 2 cores; scripts/bench.sh lists its settings)
bench: build
	$(GO) build -o bin/mochi-relay ./cmd/mochi-relay
	WOTMQ=bin/wotmq RELAY=bin/mochi-relay ./scripts/bench.sh

## crash: kill -9 the hub 20 times in a row under load, restarting it on
## the same data each time; nothing it acknowledged may be lost (make test
## does 5 kills)
crash:
	WOTMQ_CRASH_KILLS=20 $(GO) test -count=1 -timeout 10m -run '^TestCrashSafety$$' -v ./reliability/

## soak: 1,000 clients with steady traffic for 10 minutes against a hub
## process on loopback; memory and goroutines must stay flat after warm-up.
## Writes its figures into docs/benchmarks.md (section "Soak")
soak:
	WOTMQ_SOAK=1 WOTMQ_SOAK_REPORT=$(CURDIR)/docs/benchmarks.md $(GO) test -count=1 -timeout 20m -run '^TestSoak$$' -v ./reliability/

## bench-go: the hub's testing.B benchmarks beside a bare Mochi relay,
## the proxy's, then the hot paths (bench-hot)
bench-go: bench-hot
	$(GO) test -run='^$$' -bench=. -benchtime=2000x ./hub/ ./outbox/ ./proxy/

## bench-hot: the testing.B matrix of the hot paths with allocations:
## validating an event (64 B, 1 KiB), appending it to the outbox, an
## action's status transitions. Compare two builds with
## `make bench-hot BENCHCOUNT=6 > old.txt` on each and benchstat
BENCHCOUNT ?= 1
bench-hot:
	$(GO) test -run='^$$' -bench='^BenchmarkHot' -benchmem -count=$(BENCHCOUNT) ./td/ ./outbox/ ./inbox/ ./twin/

## package: the Debian package in dist/ (static binary, systemd unit,
## /etc/wotmq/wotmq.toml); nfpm runs with go run at a fixed version, no
## dependency of the module. ARCH=arm64 for another architecture
package:
	GO=$(GO) OUT=dist $(if $(ARCH),ARCH=$(ARCH)) $(if $(VERSION),VERSION=$(VERSION)) ./packaging/package.sh

## image: the OCI image in dist/wotmq-oci, from scratch (static binary, CA
## certificates, user wotmq 65532, volume /var/lib/wotmq), written without a
## container runtime; load it with: podman pull oci:dist/wotmq-oci
image:
	@mkdir -p dist
	CGO_ENABLED=0 $(GOBUILD) -o dist/wotmq ./cmd/wotmq
	rm -rf dist/wotmq-oci
	$(GO) run ./packaging/ociimage -bin dist/wotmq -out dist/wotmq-oci

## config: rewrite packaging/wotmq.toml (every setting, commented) from the
## serve flags; TestPackagedConfig fails while it is out of date
config:
	$(GO) test ./cmd/wotmq -run '^TestPackagedConfig$$' -update-config

clean:
	rm -rf bin dist
