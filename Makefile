# hdw — see README.md. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/hdw
CACHE ?= $(HOME)/.cache/hdw
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
TAGS ?= $(shell test -f /usr/include/tesseract/baseapi.h && echo ocr) $(shell pkg-config --exists libheif 2>/dev/null && echo heif) $(shell pkg-config --exists libjxl 2>/dev/null && echo jxl)
APT_PKGS := dcmtk libimage-exiftool-perl libgdcm-tools dicom3tools tesseract-ocr libtesseract-dev libheif-dev libheif-examples libjxl-dev libjxl-tools pkg-config time bc openssl
export HDW_CACHE := $(CACHE)

.PHONY: trace all build demo test unit race lint fuzz bench bench-peers bench-s3 bench-export bench-diff integration deps servers clean

all: build

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hdw

## demo: the main job end to end on the embedded default (local folder, local keyring, synthetic data)
demo: build
	./$(BIN) demo

## deps: Debian packages the tests use as independent checkers (dcmtk, exiftool, gdcm, dicom3tools, tesseract)
deps:
	@missing=""; for c in dcmdump exiftool gdcmanon dciodvfy tesseract heif-enc cjxl bc /usr/bin/time; do command -v $$c >/dev/null || missing=1; done; \
	test -f /usr/include/tesseract/baseapi.h || missing=1; \
	pkg-config --exists libheif libjxl 2>/dev/null || missing=1; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing $(APT_PKGS)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi

## servers: build (once, cached in $(CACHE)) the real S3 server (versitygw) and Vault
servers:
	bash scripts/s3-server.sh build
	bash scripts/vault-server.sh build

## test: every test, with the real S3 and Vault servers started here; skips fail (HDW_DISALLOW_SKIP=1)
test: deps servers
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'bash scripts/s3-server.sh stop "$$tmp/s3" || true; bash scripts/vault-server.sh stop "$$tmp/vault" || true; rm -rf "$$tmp"' EXIT; \
	eval "$$(bash scripts/s3-server.sh start "$$tmp/s3")"; \
	eval "$$(bash scripts/vault-server.sh start "$$tmp/vault")"; \
	export HDW_DISALLOW_SKIP=1; \
	bash scripts/dicom-samples.sh "$(CACHE)/dicom-samples" >/dev/null && export HDW_DICOM_SAMPLES="$(CACHE)/dicom-samples/files"; \
	$(GO) vet ./...; \
	$(GO) test -count=1 -timeout 40m ./...; \
	$(GO) test -count=1 -timeout 20m -tags 'ocr heif jxl' ./masking/...

unit:
	$(GO) test ./...

race:
	$(GO) test -race ./...

## lint: go vet, gofmt, staticcheck (pinned; installed on first use like benchstat)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
lint:
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install $(STATICCHECK)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

## trace: regenerate docs/TRACEABILITY.md from the code (internal/trace); `go test ./internal/trace` checks it
trace:
	$(GO) run ./internal/trace

## fuzz: run each fuzz target for FUZZTIME (the seed corpora run in every `go test`)
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: pseudonyms/s, envelope MB/s, masking MB/s, ingest MB/s (testing.B)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./pseudo ./envelope ./pipeline ./masking/... ./export ./workspaces 2>/dev/null | grep -E '^(Benchmark|ok|PASS|goos|cpu)' || true

## bench-peers: hdw against gdcmanon, dcmodify and exiftool on the same files
bench-peers: deps build
	bash bench/peers.sh

## bench-s3: end-to-end ingest from the local S3 server vs a plain parallel download with the same SDK
bench-s3: servers
	bash bench/peers-s3.sh

## bench-export: the export gate at 1M and 10M rows (rows/s, peak RSS) and DuckDB's GROUP BY on the same file
bench-export:
	$(GO) build -o bin/kanon ./bench/cmd/kanon
	for n in 1000000 10000000; do ./bin/kanon -file /tmp/hdw-kanon.parquet -gen $$n -check; done; rm -f /tmp/hdw-kanon.parquet
	sh bench/kanon-duckdb.sh 1000000

bench-diff:
	@command -v benchstat >/dev/null || $(GO) install golang.org/x/perf/cmd/benchstat@v0.0.0-20250414005231-a2bf8ba1d4d8
	$(GO) test -run '^$$' -bench . -count 10 ./pseudo ./envelope ./pipeline > /tmp/hdw-new.txt
	git stash -q && $(GO) test -run '^$$' -bench . -count 10 ./pseudo ./envelope ./pipeline > /tmp/hdw-old.txt; git stash pop -q
	benchstat /tmp/hdw-old.txt /tmp/hdw-new.txt

integration: test

clean:
	rm -rf bin hdw-data hdw-credentials hdw-demo-upload
