# lastcall: see README.md. Commands are shown; nothing is hidden behind @ except echo lines.
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib/lastcall
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/lastcall
VERSION := $(shell cat VERSION)

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wformat=2 -Wno-format-nonliteral
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SHIM_CFLAGS := $(WARN) $(HARDEN) -fPIC -fvisibility=hidden -Iinclude $(CFLAGS)
SHIM_LDFLAGS := -shared -Wl,--version-script=shim/exports.map -Wl,-z,relro,-z,now -pthread -ldl

# make SANITIZE=address|undefined|thread check
ifneq ($(SANITIZE),)
SHIM_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
SHIM_LDFLAGS += -fsanitize=$(SANITIZE)
endif

MODULES := log config real init sig fds intake stop tcp linger share children notify drain
SHIM_OBJS := $(MODULES:%=build/shim/%.o) build/shim/hooks.o
HEADERS := $(wildcard include/lastcall/*.h)

.DELETE_ON_ERROR:
.PHONY: all check check-unit check-e2e clean install uninstall lint deps demo

all: build/liblastcall.so

build/shim/%.o: shim/%.c $(HEADERS) | build/shim
	$(CC) $(SHIM_CFLAGS) -c -o $@ $<

build/liblastcall.so: $(SHIM_OBJS) shim/exports.map
	$(CC) $(SHIM_CFLAGS) -o $@ $(SHIM_OBJS) $(SHIM_LDFLAGS)

build/shim:
	mkdir -p $@

clean:
	rm -rf build

# The command gets the configured paths; everything else is copied as it is.
DOCS := README.md LICENSE docs/configuration.md docs/design.md docs/kubernetes.md
UNITS := $(wildcard examples/systemd/*.service)

install: build/liblastcall.so
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DOCDIR)/systemd
	install -m 644 build/liblastcall.so $(DESTDIR)$(LIBDIR)/liblastcall.so
	sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@VERSION@|$(VERSION)|g' bin/lastcall \
		>$(DESTDIR)$(BINDIR)/lastcall.tmp
	chmod 755 $(DESTDIR)$(BINDIR)/lastcall.tmp
	mv $(DESTDIR)$(BINDIR)/lastcall.tmp $(DESTDIR)$(BINDIR)/lastcall
	install -m 644 docs/lastcall.1 $(DESTDIR)$(MANDIR)/man1/lastcall.1
	install -m 644 docs/lastcall.7 $(DESTDIR)$(MANDIR)/man7/lastcall.7
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)
	install -m 644 $(UNITS) $(DESTDIR)$(DOCDIR)/systemd

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/liblastcall.so $(DESTDIR)$(BINDIR)/lastcall \
		$(DESTDIR)$(MANDIR)/man1/lastcall.1 $(DESTDIR)$(MANDIR)/man7/lastcall.7
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) $(UNITS:examples/%=$(DESTDIR)$(DOCDIR)/%)
	-rmdir $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)/systemd $(DESTDIR)$(DOCDIR)

# Example servers: ordinary programs that know nothing about lastcall.
EXAMPLES := threaded pool blocking epoll prefork forking cgi daemon
EX_CFLAGS := $(WARN) -Iexamples $(CFLAGS)
EXAMPLE_BINS := $(EXAMPLES:%=build/examples/%)

all: $(EXAMPLE_BINS)

build/examples/%: examples/%.c examples/http.c examples/http.h | build/examples
	$(CC) $(EX_CFLAGS) -o $@ $< examples/http.c -pthread

build/examples:
	mkdir -p $@

# Test tools and servers.
build/tests/%: tests/tools/%.c | build/tests
	$(CC) $(EX_CFLAGS) -o $@ $<

build/tests:
	mkdir -p $@

build/tests/%: tests/servers/%.c examples/http.c examples/http.h | build/tests
	$(CC) $(EX_CFLAGS) -o $@ $< examples/http.c -pthread

build/tests/libearly.so: tests/servers/early.c | build/tests
	$(CC) $(EX_CFLAGS) -shared -fPIC -o $@ $<

TEST_TOOLS := build/tests/spawn build/tests/sigserver build/tests/forksig build/tests/reaper \
	build/tests/libearly.so
E2E := $(sort $(wildcard tests/e2e/[0-9]*.sh))

check: deps
	$(MAKE) check-unit
	$(MAKE) check-e2e

# Installs missing build and test packages (apt-get, as root); a no-op once they are there.
deps:
	.ci/deps

check-e2e: all $(TEST_TOOLS)
	tests/e2e/run $(E2E)

# Benchmarks: make bench (bench/README.md).
-include bench/bench.mk

# A server under lastcall, a slow request in flight, SIGTERM: the request completes.
demo: all
	examples/demo.sh

# Unit tests: module objects linked with cmocka; lc_real and neighbouring modules are faked in
# each test, so no LD_PRELOAD is involved.
UNIT := config log fds sig tcp share notify
UNIT_BINS := $(UNIT:%=build/unit/test_%)
UNIT_CFLAGS := $(WARN) -Wno-missing-prototypes -Iinclude $(CFLAGS)
ifneq ($(SANITIZE),)
UNIT_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif

build/unit/test_config: build/shim/config.o build/shim/log.o
build/unit/test_log: build/shim/log.o
build/unit/test_fds: build/shim/fds.o build/shim/log.o build/shim/config.o
build/unit/test_sig: build/shim/sig.o build/shim/log.o build/shim/config.o
build/unit/test_tcp: build/shim/tcp.o
build/unit/test_share: build/shim/share.o build/shim/log.o
build/unit/test_notify: build/shim/notify.o build/shim/log.o build/shim/config.o

build/unit/test_%: tests/unit/test_%.c | build/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $^ -lcmocka -pthread

build/unit:
	mkdir -p $@

check-unit: $(UNIT_BINS)
	for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done
