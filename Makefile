# Palisade. `make demo` and `make test` do everything on a fresh Debian/Ubuntu
# machine (as root): they install what they need first.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
APT_PKGS := clang llvm libbpf-dev bpftool iproute2 iptables nftables ipset tcpdump ethtool
TEST_TIMEOUT ?= 9m
# Go fuzz targets, one package:FuzzName each (append new ones here). `make
# fuzz` runs each for FUZZTIME; `make test` for FUZZTIME_BRIEF.
FUZZ_TARGETS := \
	pkg/rules:FuzzLoad \
	pkg/capture:FuzzParseFilter \
	pkg/capture:FuzzDecode \
	pkg/audit:FuzzVerify \
	pkg/flows:FuzzRead \
	pkg/agent:FuzzParseConfig \
	pkg/datapath:FuzzReferenceParser \
	pkg/datapath:FuzzModelAgainstProgram \
	pkg/inspect:FuzzClientHelloSNI \
	pkg/inspect:FuzzHTTPHost \
	pkg/inspect:FuzzDNSQuestions \
	pkg/inspect:FuzzDNSOverTCP \
	pkg/inspect:FuzzStream \
	pkg/inspect:FuzzDecode \
	pkg/inspect:FuzzDecideStream
FUZZTIME ?= 60s
# A count, not a duration: go1.26's fuzz coordinator can fail a run that
# found nothing with "context deadline exceeded" when a -fuzztime duration
# runs out (golang/go#75804, fixed in go1.27); a count has no deadline.
FUZZTIME_BRIEF ?= 1000x

.PHONY: all deps build generate check-generated test fuzz fuzz-brief demo bench package clean

all: build

# Host tools the build, tests and demo use; installed only when missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	$(GO) mod download

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

# Rebuild the BPF objects and their Go bindings (needs clang).
generate:
	$(GO) generate ./pkg/datapath/... ./bench/...

# CI: the committed objects must be what the committed C compiles to.
check-generated: generate
	@git diff --exit-code --stat -- pkg/ bpf/ bench/ || \
		(echo "generated BPF files are stale: run 'make generate' and commit" >&2; exit 1)

# Unit tests, BPF_PROG_RUN tests and the namespace lab, all of them (root).
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz-brief

# Each fuzz target in turn; a failing input is written to the package's
# testdata/fuzz/NAME/ (commit it: it becomes a seed). New inputs are
# minimised for 10s, not the default 60s that would stall a short run.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./$${t%%:*}; \
	done

fuzz-brief:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_BRIEF)

# The datapath's sequence fuzzer (pkg/datapath/seqfuzz_test.go) for longer
# than `make test`'s 200,000 packets, from a new seed each run (printed;
# a difference prints the seed and epoch that replay it). ~40,000 packets/s.
SEQFUZZ_N ?= 5000000
.PHONY: fuzz-datapath
fuzz-datapath:
	PALISADE_SEQFUZZ_SEED=$${PALISADE_SEQFUZZ_SEED:-random} PALISADE_SEQFUZZ_N=$(SEQFUZZ_N) \
		$(GO) test -count=1 -timeout 0 -run '^TestSeqFuzz$$' -v ./pkg/datapath/

demo: deps build
	$(GO) run ./internal/demo -bin $(BIN) -rules rules

# The benchmark suite (bench/README.md): ratios against iptables, nftables,
# ipset and bare XDP measured in the same run; results in bench/results/.
bench: deps
	$(GO) run ./bench/cmd/palisade-bench -out bench/results

clean:
	rm -rf $(BIN)

# The Debian package for gateways: dist/palisade_<version>_<arch>.deb, made by
# deploy/mkdeb with nfpm as a Go library (nothing is downloaded but Go modules).
package:
	$(GO) run ./deploy/mkdeb -version $(VERSION) -out dist
