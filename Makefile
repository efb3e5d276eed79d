# wotmq Makefile. `make run` starts a hub on its defaults; `make test` is
# what CI runs.
GO       ?= go
DATA     ?= ./wotmq-data
FUZZTIME ?= 10s

.PHONY: all build run test fmt-check vet race fuzz fuzz-short bench clean

all: build

build:
	$(GO) build -o bin/wotmq ./cmd/wotmq

## run: start a development hub (MQTT :1883, WebSocket :9001, data in
## ./wotmq-data; clients on this machine need no credentials)
run:
	$(GO) run ./cmd/wotmq serve --dev --data $(DATA)

## test: gofmt check, go vet, race-enabled tests, short fuzz runs
test: fmt-check vet race fuzz-short

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 ./...

# Each fuzzer for a few seconds in CI; `make fuzz FUZZTIME=10m` for longer runs.
FUZZERS = ./wot:FuzzTopic ./wot:FuzzEscape ./td:FuzzParse ./td:FuzzValidate ./td:FuzzValidateValue
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s

fuzz:
	@set -e; for f in $(FUZZERS); do \
		pkg=$${f%%:*}; name=$${f##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## bench: the hub's benchmarks beside a bare Mochi relay, in one run
bench:
	$(GO) test -run='^$$' -bench=. -benchtime=2000x ./broker/ ./outbox/

clean:
	rm -rf bin
