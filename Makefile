# The two commands a new user runs: `make run` and `make test`.
SWIFT      ?= swift
POLICIES   ?= policies
DB         ?= permd.db
LISTEN     ?= 127.0.0.1:7468
RUN_HOST   = $(firstword $(subst :, ,$(LISTEN)))
RUN_PORT   = $(lastword $(subst :, ,$(LISTEN)))
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps build release run fleet test test-python bench fuzz fuzz-build sanitize soak clean

all: build

# Installs the C libraries (and pkg-config) with apt-get when they are missing.
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="pkg-config libjansson-dev libsqlite3-dev libpq-dev"; \
	if [ -z "$$missing" ]; then \
	  pkg-config --exists jansson || missing="$$missing libjansson-dev"; \
	  pkg-config --exists sqlite3 || missing="$$missing libsqlite3-dev"; \
	  pkg-config --exists libpq || missing="$$missing libpq-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The PostgreSQL server programs the tests start a throwaway cluster with (Debian puts them
# in /usr/lib/postgresql/<version>/bin); only `make test` needs them.
test-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  echo "installing: postgresql"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product permd

run: release
	@printf '%s\n' "permd: serving $(POLICIES) with $(DB) on $(LISTEN). From another terminal (README: Try it):" \
	  "  .build/release/permd user add --id alice --org org_acme --role billing-admin" \
	  "  printf 'PING\\nCHECK alice org_acme read:invoices delete:organization\\nSTATS\\n' | nc -q1 $(RUN_HOST) $(RUN_PORT)" \
	  "  python3 -c \"import socket; f = socket.create_connection(('$(RUN_HOST)', $(RUN_PORT))).makefile('rwb')" \
	  "  f.write(b'CHECK alice org_acme read:invoices\\nREVISION\\n'); f.flush(); print(f.readline().decode() + f.readline().decode())\""
	.build/release/permd serve --policies $(POLICIES) --db $(DB) --listen $(LISTEN)

# A throwaway PostgreSQL and three replicas on 127.0.0.1:7468-7470 (README: Run a fleet); Ctrl-C stops all.
fleet: release test-deps
	POLICIES=$(POLICIES) PERMD=.build/release/permd scripts/fleet.sh

test: build test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	.build/debug/permd validate $(POLICIES)
	.build/debug/permd test $(POLICIES)
	$(MAKE) test-python

# The Python client against a real server (the debug build unless PERMD_BIN names another);
# pytest and prometheus-client are installed when missing.
PYTHON    ?= python3
PERMD_BIN ?= $(CURDIR)/.build/debug/permd
test-python:
	@$(PYTHON) -c 'import pytest' 2>/dev/null || $(PYTHON) -m pip install --quiet pytest
	@$(PYTHON) -c 'import prometheus_client' 2>/dev/null || $(PYTHON) -m pip install --quiet prometheus-client
	PERMD_BIN=$(PERMD_BIN) $(PYTHON) -m pytest -q clients/python/tests

# Only the benchmark targets: the plugin would also run CheckLoop, a plain executable of
# the same package, with arguments it does not take.
bench: deps
	cd Benchmarks && $(SWIFT) package benchmark --target '.*Benchmarks'

# Hardening (docs/security.md). The fuzz targets live in their own package (Fuzz/), built
# with libFuzzer and AddressSanitizer. SwiftPM's `--sanitize=fuzzer --sanitize=address`
# hands swiftc two -sanitize flags and the last one wins (no coverage): the pair is given
# once more as one flag.
FUZZ_SECONDS ?= 60
# The differential target (FuzzIndex) is built once more with `-D DEBUG`, in its own folder:
# the index's chunks are then tiny, so that small inputs cross their boundaries.
FUZZ_FLAGS = -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address
fuzz-build: deps
	cd Fuzz && $(SWIFT) build $(FUZZ_FLAGS)
	cd Fuzz && $(SWIFT) build $(FUZZ_FLAGS) --product FuzzIndex --build-path .build/small-chunks -Xswiftc -DDEBUG

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh

# The whole suite under AddressSanitizer, then ThreadSanitizer, each in its own build folder
# (tests that measure memory or time the sanitizer distorts say so: PermdTestSupport's
# `Sanitizer`). Every process of a run, the test runner and each permd it starts, writes its
# reports to a file (log_path): a report from a server the tests stop would otherwise be lost
# with its standard error, and a leak or race there does not fail a test. So the run fails
# when any report was written. Suppressions, each with its reason: scripts/sanitizers/.
# ASan: leaks checked at exit (LeakSanitizer); it stops at the first error by itself.
# TSan: halt_on_error=0, so one run lists every race (the report files fail it).
SANITIZERS = $(CURDIR)/scripts/sanitizers
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:suppressions=$(SANITIZERS)/asan.supp:log_path=$(CURDIR)/.build-asan/reports/asan \
	LSAN_OPTIONS=suppressions=$(SANITIZERS)/lsan.supp:print_suppressions=0
TSAN_ENV = TSAN_OPTIONS=halt_on_error=0:suppressions=$(SANITIZERS)/tsan.supp:log_path=$(CURDIR)/.build-tsan/reports/tsan
sanitize: deps test-deps
	$(SWIFT) build --build-tests --sanitize=address --build-path .build-asan
	rm -rf .build-asan/reports && mkdir -p .build-asan/reports
	$(ASAN_ENV) $(SWIFT) test --skip-build --sanitize=address --build-path .build-asan
	$(SANITIZERS)/no-reports.sh .build-asan/reports
	$(SWIFT) build --build-tests --sanitize=thread --build-path .build-tsan
	rm -rf .build-tsan/reports && mkdir -p .build-tsan/reports
	$(TSAN_ENV) $(SWIFT) test --skip-build --sanitize=thread --build-path .build-tsan
	$(SANITIZERS)/no-reports.sh .build-tsan/reports

# The long forms: a 10-minute mixed load, a long reference-model run, many crash rounds.
SOAK_SECONDS ?= 600
soak: build test-deps
	$(SWIFT) build --build-tests
	PERMD_SOAK_SECONDS=$(SOAK_SECONDS) PERMD_MODEL_OPERATIONS=20000 PERMD_CRASH_ROUNDS=25 \
	  $(SWIFT) test --skip-build --filter 'SoakTests|ReferenceModelTests|CrashSafetyTests'

clean:
	rm -rf .build .build-asan .build-tsan Fuzz/.build
