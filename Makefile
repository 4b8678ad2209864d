VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go

.PHONY: build dist run test lint bench clean screenshots

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/convene ./cmd/convene

# Static release binaries for the usual VPS machines, named with the
# version, and their checksums: dist/convene-VERSION-linux-{amd64,arm64}
# and dist/SHA256SUMS (check with: cd dist && sha256sum -c SHA256SUMS).
DIST_ARCHS := amd64 arm64
dist:
	rm -rf dist && mkdir dist
	for arch in $(DIST_ARCHS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o dist/convene-$(VERSION)-linux-$$arch ./cmd/convene || exit 1; \
	done
	cd dist && sha256sum convene-* > SHA256SUMS

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

# Takes the README's screenshots again (the page, the archive, the email)
# into docs/; a plain test run writes them to a temporary directory.
screenshots:
	CONVENE_UPDATE_DOCS=1 $(GO) test -count=1 -run 'Browser|Screenshot|Archive' ./cmd/convene ./mailer

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
	rm -rf bin dist convene.db convene.db-* outbox
