# hdw — see README.md. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/hdw
CACHE ?= $(HOME)/.cache/hdw
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
TAGS ?= $(shell test -f /usr/include/tesseract/baseapi.h && echo ocr) $(shell pkg-config --exists libheif 2>/dev/null && echo heif) $(shell pkg-config --exists libjxl 2>/dev/null && echo jxl) $(shell test -f /usr/include/dcmtk/dcmjpeg/djdijg8.h && pkg-config --exists libopenjp2 charls 2>/dev/null && echo dcmcodec)
APT_PKGS := dcmtk libimage-exiftool-perl libgdcm-tools dicom3tools tesseract-ocr libtesseract-dev libheif-dev libheif-examples libjxl-dev libjxl-tools libdcmtk-dev libopenjp2-7-dev libcharls-dev pkg-config time bc openssl
export HDW_CACHE := $(CACHE)

.PHONY: k8s-manifests docker test-deploy
.PHONY: trace all build demo test unit race lint fuzz bench bench-peers bench-s3 bench-export bench-export-100m bench-diff integration deps servers clean

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
	test -f /usr/include/dcmtk/dcmjpeg/djdijg8.h && pkg-config --exists libopenjp2 charls 2>/dev/null || missing=1; \
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
	$(GO) test -count=1 -timeout 20m -tags 'ocr heif jxl dcmcodec' ./masking/...; \
	$(MAKE) --no-print-directory test-deploy

## test-deploy: the Kubernetes manifests decoded into k8s.io/api types (separate module: deploy/k8s/validate)
test-deploy:
	cd deploy/k8s/validate && $(GO) test -count=1 ./...

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

## bench-s3: end-to-end ingest from the local S3 server vs a plain parallel download with the same SDK, on four
## corpora (CT slices, multi-frame, photos, mixed), into a disk and an S3 warehouse, with the CPU profile split
## (only the S3 server is built: the bench never uses Vault; R, CORPORA, BEFORE=REV, PROFILE: bench/peers-s3.sh)
bench-s3:
	bash scripts/s3-server.sh build
	bash bench/peers-s3.sh

## bench-export: the export gate's k/l counts on typed tables (tables.Counter) against DuckDB's GROUP BY on the same file, 1M and 10M rows (time, peak RSS)
bench-export:
	sh bench/kanon-duckdb.sh 1000000 10000000

## bench-export-100m: the same at 100M rows, out of core (the counter spills past 256 MiB; DuckDB limited to 4 GB, spilling); about 20 min on 2 cores
bench-export-100m:
	HDW_DUCKDB_MEMORY=4GB nice sh bench/kanon-duckdb.sh 100000000

bench-diff:
	@command -v benchstat >/dev/null || $(GO) install golang.org/x/perf/cmd/benchstat@v0.0.0-20250414005231-a2bf8ba1d4d8
	$(GO) test -run '^$$' -bench . -count 10 ./pseudo ./envelope ./pipeline > /tmp/hdw-new.txt
	git stash -q && $(GO) test -run '^$$' -bench . -count 10 ./pseudo ./envelope ./pipeline > /tmp/hdw-old.txt; git stash pop -q
	benchstat /tmp/hdw-old.txt /tmp/hdw-new.txt

integration: test

## k8s-manifests: render the sharded ingest Job (deploy/k8s) for a bucket, a client and a shard count:
##   make k8s-manifests BUCKET=uploads CLIENT=ACME SHARDS=4 [KEYS=vault|vault-k8s|passphrase] [IMAGE=..] [WAREHOUSE=s3://..] [REGION=..] [OUT=file]
KEYS ?= vault
IMAGE ?= registry.example.org/hdw:$(VERSION)
REGION ?= eu-west-3
WAREHOUSE ?= s3://warehouse/prod
k8s-manifests:
	@test -n "$(BUCKET)" -a -n "$(CLIENT)" -a -n "$(SHARDS)" || { echo "usage: make k8s-manifests BUCKET=.. CLIENT=.. SHARDS=.. [KEYS=vault|vault-k8s|passphrase]" >&2; exit 2; }
	@echo "$(BUCKET)" | grep -Eq '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$$' || { echo "BUCKET must be an S3 bucket name" >&2; exit 2; }
	@echo "$(CLIENT)" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9-]{0,40}$$' || { echo "CLIENT must be letters, digits or '-' (a Kubernetes name part)" >&2; exit 2; }
	@echo "$(SHARDS)" | grep -Eq '^[1-9][0-9]{0,3}$$' || { echo "SHARDS must be a number from 1 to 9999" >&2; exit 2; }
	@test -f deploy/k8s/job-$(KEYS).yaml.in || { echo "KEYS must be vault, vault-k8s or passphrase" >&2; exit 2; }
	@out="$${OUT:-deploy/k8s/rendered/hdw-ingest-$$(echo $(CLIENT) | tr A-Z a-z).yaml}"; mkdir -p "$$(dirname "$$out")"; \
	cat deploy/k8s/base.yaml.in deploy/k8s/job-$(KEYS).yaml.in | sed \
	  -e 's|@NAME@|'"$$(echo $(CLIENT) | tr A-Z a-z)"'|g' -e 's|@CLIENT@|$(CLIENT)|g' -e 's|@BUCKET@|$(BUCKET)|g' \
	  -e 's|@SHARDS@|$(SHARDS)|g' -e 's|@IMAGE@|$(IMAGE)|g' -e 's|@REGION@|$(REGION)|g' -e 's|@WAREHOUSE@|$(WAREHOUSE)|g' > "$$out"; \
	echo "$$out"

## docker: the static image (IMAGE_TARGET=ocr: with the Tesseract runtime)
IMAGE_TARGET ?= static
docker:
	docker build --target $(IMAGE_TARGET) --build-arg VERSION=$(VERSION) -t hdw:$(VERSION)$(if $(filter ocr,$(IMAGE_TARGET)),-ocr) .

clean:
	rm -rf bin hdw-data hdw-credentials hdw-demo-upload
