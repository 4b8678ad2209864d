VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go

.PHONY: build run test lint bench clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/convene ./cmd/convene

# Serves the sample events.toml on http://127.0.0.1:8080 with the embedded
# defaults; reminders go to ./outbox as .eml files.
run: build
	./bin/convene serve --config events.toml --state convene.db

# Tests that need outside programs (ical.js, libical, python icalendar,
# mailpit, chromium) skip with a message when those are missing; set
# CONVENE_REQUIRE_INTEROP=1 (as .ci/run does) to make them fail instead.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet ./...

bench: bin/smtp-source
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

# Postfix's smtp-source, the yardstick of the mailer's throughput benchmark,
# unpacked from Debian's package without installing Postfix. Optional: the
# benchmark says so when it is missing.
bin/smtp-source:
	-mkdir -p bin/postfix && cd bin/postfix && apt-get download postfix >/dev/null 2>&1 && \
	  dpkg -x postfix_*.deb root && \
	  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s/root/usr/lib/postfix" exec "%s/root/usr/sbin/smtp-source" "$$@"\n' "$$PWD" "$$PWD" > ../smtp-source && \
	  chmod +x ../smtp-source

clean:
	rm -rf bin convene.db convene.db-* outbox
