# otto: make (build), make test, make demo, make bench, make install. "make help" lists them.
.DEFAULT_GOAL := build

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/otto-automation/otto/internal/version.Version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=
PLATFORMS := linux/amd64 linux/arm64 freebsd/amd64 freebsd/arm64 openbsd/amd64 openbsd/arm64 netbsd/amd64 netbsd/arm64

.PHONY: build test cross demo bench fuzz install help
.PHONY: bench-go soak fuzz-long

build: ## build bin/otto, static, version from git describe
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/otto .

test: ## gofmt check, go vet, go test -race ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...

cross: ## build for every supported OS and architecture into bin/
	@for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; echo "build $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/otto-$$os-$$arch . || exit 1; \
	done

demo: build ## run a demo server with a local client (data in ./otto-demo)
	./bin/otto demo

# -tags ottotest: the per-frame sweep's in-process clients need the test knobs
# (internal/testbin.Tag). Nothing that builds bin/otto sets it.
bench: ## scale benchmark on loopback: N=100 and 1000, real server and clients (docs/benchmarks.md)
	$(GO) run -tags ottotest ./cmd/otto-bench --n 100,1000 --json-out bin/bench.json

bench-go: ## run the Go benchmarks once each
	$(GO) test -run '^$$' -bench . -benchtime=1x ./...

soak: ## 30 minutes of API load and runs on 200 clients; RSS and fds must stay flat (not in CI)
	$(GO) run ./cmd/otto-bench --soak 30m

fuzz-long: ## every fuzz target for 60 s, then the API under hostile input for 5 minutes
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 60s $$pkg; \
	  done; \
	done
	$(GO) run ./cmd/otto-bench --hostile 5m

fuzz: ## run every wire fuzz target for 60 s
	$(GO) test -run '^$$' -fuzz '^FuzzReadMessage$$' -fuzztime 60s ./internal/wire/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMessage$$' -fuzztime 60s ./internal/wire/

install: build ## install bin/otto and its three symlinks under $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/otto $(DESTDIR)$(PREFIX)/bin/otto
	for l in otto-server otto-client ottoctl; do ln -sf otto $(DESTDIR)$(PREFIX)/bin/$$l; done

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'
