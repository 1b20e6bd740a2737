# PicoTunnel: see README.md. Every target runs on a JDK 21+ found by scripts/find-jdk.sh.
SHELL := /bin/bash
JAVA_HOME := $(shell bash scripts/find-jdk.sh)
export JAVA_HOME
MVN := mvn -B -q -e
MVN_LOUD := mvn -B -e --no-transfer-progress
DATA ?= ./dev-data

.PHONY: setup build build-server build-client dist dist-server dist-client test vet fuzz dev-server docker-build clean bench bench-micro

setup:
	bash scripts/install-deps.sh
	$(MVN) -DskipTests install

build:
	$(MVN) -DskipTests package
	$(MAKE) --no-print-directory dist-server dist-client

build-server:
	$(MVN) -DskipTests -pl server -am package
	$(MAKE) --no-print-directory dist-server

build-client:
	$(MVN) -DskipTests -pl client -am package
	$(MAKE) --no-print-directory dist-client

# The release archive dist/picotunnel-<version>-linux-x64.tar.gz: launchers, jars, a jlink runtime (no Java needed),
# the systemd units, the README and the files it links to (scripts/dist.sh).
dist: build
	bash scripts/dist.sh dist

dist-server:
	@mkdir -p dist/lib
	cp server/target/picotunnel-server-all.jar dist/lib/picotunnel-server.jar
	install -m 0755 scripts/launcher.sh dist/picotunnel-server
	@echo "built dist/picotunnel-server"

dist-client:
	@mkdir -p dist/lib
	cp client/target/picotunnel-client-all.jar dist/lib/picotunnel-client.jar
	install -m 0755 scripts/launcher.sh dist/picotunnel-client
	@echo "built dist/picotunnel-client"

test:
	$(MVN_LOUD) verify

vet:
	$(MVN) -Pvet -DskipTests test-compile

# Fuzzes each Jazzer target for its maxDuration (60 s) with JAZZER_FUZZ=1; `make test` only replays the saved
# inputs (src/test/resources/.../*FuzzTestInputs). A crash fails the target and leaves its input beside them.
FUZZ_MODULES := testkit,protocol,client,web,server
FUZZ_TARGETS := ProtocolFuzzTest\#yamuxFrameDecoder ProtocolFuzzTest\#streamHeaderDecoder ProtocolFuzzTest\#webSocketPath \
	ClientHelloFuzzTest\#clientHello ApiJsonInputFuzzTest\#serviceBody
fuzz:
	set -e; for target in $(FUZZ_TARGETS); do \
	  echo "fuzzing $$target"; \
	  JAZZER_FUZZ=1 $(MVN) -pl $(FUZZ_MODULES) test-compile surefire:test@fuzz-regression \
	    -Dfuzz.test="$$target"; \
	done

# The real executables against iperf3, ssh -R and nginx (bench/README.md); BENCH_ARGS=--quick for a short run.
# The build's output goes to standard error: standard output is the table alone.
bench:
	@$(MAKE) --no-print-directory build >&2
	@bash bench/run.sh $(BENCH_ARGS)

# The in-process JMH micro-benchmarks (yamux, codec) against plain loopback TCP.
bench-micro:
	bash bench/micro.sh $(BENCH_ARGS)

dev-server: build-server
	bash scripts/dev-server.sh "$(DATA)"

docker-build:
	@command -v docker >/dev/null || { echo "docker-build needs the docker CLI and a Docker engine" >&2; exit 1; }
	docker build -f docker/server.Dockerfile -t picotunnel-server .
	docker build -f docker/client.Dockerfile -t picotunnel-client .

clean:
	$(MVN) clean
	rm -rf dist
