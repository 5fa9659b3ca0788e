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

# Where everything is built. make SANITIZE=address,undefined check (or thread) builds the library,
# the unit tests and the test tools with those sanitizers in a directory of their own, and runs
# every test with the sanitizer's runtime preloaded ahead of the library (tests/lib/lib.sh).
comma := ,
B := build
ifneq ($(SANITIZE),)
B := build/san-$(subst $(comma),-,$(SANITIZE))
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SHIM_CFLAGS += $(SAN_FLAGS)
SHIM_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# In the order of the layer table (docs/design.md, "Modules"): each may use only those before it.
MODULES := libc log real util solo config tcp elf scm state wake fds sig share notify off private gen \
	listener stash intake children linger stop master drain thread arm exec run environ init hooks
SHIM_OBJS := $(MODULES:%=$(B)/shim/%.o)
HEADERS := $(wildcard include/lastcall/*.h)

.DELETE_ON_ERROR:
.PHONY: all check check-unit check-memcheck check-e2e check-layers clean install uninstall deps demo

all: $(B)/liblastcall.so

$(B)/shim/%.o: shim/%.c $(HEADERS) | $(B)/shim
	$(CC) $(SHIM_CFLAGS) -c -o $@ $<

$(B)/liblastcall.so: $(SHIM_OBJS) shim/exports.map
	$(CC) $(SHIM_CFLAGS) -o $@ $(SHIM_OBJS) $(SHIM_LDFLAGS)

$(B)/shim:
	mkdir -p $@

# What lastcall --restart-on runs instead of the server: a small parent that keeps the main pid
# (parent/). Not preloaded; it shares the settings' parsers and the logger with the library.
PARENT_OBJS := $(B)/shim/config.o $(B)/shim/log.o $(B)/shim/scm.o
all: $(B)/lastcall-parent

$(B)/lastcall-parent: parent/parent.c parent/listeners.c parent/parent.h $(PARENT_OBJS) $(HEADERS)
	$(CC) $(WARN) $(HARDEN) -Iinclude -Iparent $(CFLAGS) $(SAN_FLAGS) -o $@ parent/parent.c \
		parent/listeners.c $(PARENT_OBJS) $(if $(SAN_FLAGS),-fsanitize=$(SANITIZE))

clean:
	rm -rf build

# The command gets the configured paths; everything else is copied as it is.
DOCS := README.md LICENSE docs/configuration.md docs/design.md docs/kubernetes.md docs/security.md
UNITS := $(wildcard examples/systemd/*.service)

install: $(B)/liblastcall.so $(B)/lastcall-parent
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DOCDIR)/systemd
	install -m 644 $(B)/liblastcall.so $(DESTDIR)$(LIBDIR)/liblastcall.so
	install -m 755 $(B)/lastcall-parent $(DESTDIR)$(LIBDIR)/lastcall-parent
	sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@VERSION@|$(VERSION)|g' bin/lastcall \
		>$(DESTDIR)$(BINDIR)/lastcall.tmp
	chmod 755 $(DESTDIR)$(BINDIR)/lastcall.tmp
	mv $(DESTDIR)$(BINDIR)/lastcall.tmp $(DESTDIR)$(BINDIR)/lastcall
	install -m 644 docs/lastcall.1 $(DESTDIR)$(MANDIR)/man1/lastcall.1
	install -m 644 docs/lastcall.7 $(DESTDIR)$(MANDIR)/man7/lastcall.7
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)
	install -m 644 $(UNITS) $(DESTDIR)$(DOCDIR)/systemd

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/liblastcall.so $(DESTDIR)$(LIBDIR)/lastcall-parent \
		$(DESTDIR)$(BINDIR)/lastcall \
		$(DESTDIR)$(MANDIR)/man1/lastcall.1 $(DESTDIR)$(MANDIR)/man7/lastcall.7
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) $(UNITS:examples/%=$(DESTDIR)$(DOCDIR)/%)
	-rmdir $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)/systemd $(DESTDIR)$(DOCDIR)

# Example servers: ordinary programs that know nothing about lastcall.
EXAMPLES := threaded pool blocking epoll prefork forking cgi daemon
EX_CFLAGS := $(WARN) -Iexamples $(CFLAGS)
EXAMPLE_BINS := $(EXAMPLES:%=$(B)/examples/%)

all: $(EXAMPLE_BINS)

$(B)/examples/%: examples/%.c examples/http.c examples/http.h | $(B)/examples
	$(CC) $(EX_CFLAGS) -o $@ $< examples/http.c -pthread

$(B)/examples:
	mkdir -p $@

# Test tools and servers.
$(B)/tests/%: tests/tools/%.c | $(B)/tests
	$(CC) $(EX_CFLAGS) -o $@ $<

$(B)/tests:
	mkdir -p $@

$(B)/tests/%: tests/servers/%.c examples/http.c examples/http.h | $(B)/tests
	$(CC) $(EX_CFLAGS) -o $@ $< examples/http.c -pthread

$(B)/tests/libearly.so: tests/servers/early.c | $(B)/tests
	$(CC) $(EX_CFLAGS) -shared -fPIC -o $@ $<

# Preloaded with TSan's runtime in a TSan build's tests (see tests/lib/lib.sh).
$(B)/tests/libtsaninit.so: tests/tools/tsaninit.c | $(B)/tests
	$(CC) $(EX_CFLAGS) -fsanitize=thread -shared -fPIC -o $@ $<

# -O2 whatever CFLAGS say: its dlsym must reach the real one by a jump (see the file).
$(B)/tests/libfault.so: tests/tools/libfault.c | $(B)/tests
	$(CC) $(EX_CFLAGS) -O2 -shared -fPIC -o $@ $< -ldl

TEST_TOOLS := $(B)/tests/spawn $(B)/tests/sigserver $(B)/tests/forksig $(B)/tests/reaper \
	$(B)/tests/handlerflip $(B)/tests/atsecure $(B)/tests/libearly.so $(B)/tests/libfault.so \
	$(B)/tests/faultserver $(B)/tests/cgienv $(B)/tests/solo $(B)/tests/redirect
ifneq ($(findstring thread,$(SANITIZE)),)
TEST_TOOLS += $(B)/tests/libtsaninit.so
endif
E2E := $(sort $(wildcard tests/e2e/[0-9]*.sh))

check: deps
	$(MAKE) check-layers
	$(MAKE) check-unit
	$(if $(SANITIZE),,$(MAKE) check-memcheck)
	$(MAKE) check-fuzz
	$(MAKE) check-e2e
	$(if $(SANITIZE),,$(MAKE) check-musl)
	$(MAKE) check-soak

# The house rules: modules include only modules before them in docs/design.md's layer table,
# no file over 500 lines, each .c file says what it owns (tests/layers.sh).
check-layers:
	tests/layers.sh

# Installs missing build and test packages (apt-get, as root); a no-op once they are there.
deps:
	.ci/deps

check-e2e: all $(TEST_TOOLS)
	TEST_BUILD=$(B) SANITIZE=$(SANITIZE) tests/e2e/run $(E2E)

# Benchmarks: make bench (bench/README.md). Fuzzing: make fuzz (tests/fuzz/). Soak: make soak.
-include bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/soak/soak.mk

# A server under lastcall, a slow request in flight, SIGTERM: the request completes.
demo: all
	examples/demo.sh

# Unit tests: module objects linked with cmocka; lc_real and neighbouring modules are faked in
# each test, so no LD_PRELOAD is involved.
UNIT := config log util fds sig tcp share notify exec elf linger children intake drain wake
UNIT_BINS := $(UNIT:%=$(B)/unit/test_%)
UNIT_CFLAGS := $(WARN) -Wno-missing-prototypes -Iinclude $(CFLAGS)
ifneq ($(SANITIZE),)
UNIT_CFLAGS += $(SAN_FLAGS)
endif

$(B)/unit/test_config: $(B)/shim/config.o $(B)/shim/log.o
$(B)/unit/test_log: $(B)/shim/log.o
$(B)/unit/test_fds: $(B)/shim/fds.o $(B)/shim/log.o $(B)/shim/config.o $(B)/shim/util.o
$(B)/unit/test_sig: $(B)/shim/sig.o $(B)/shim/log.o $(B)/shim/config.o $(B)/shim/util.o
$(B)/unit/test_tcp: $(B)/shim/tcp.o $(B)/shim/util.o
$(B)/unit/test_share: $(B)/shim/share.o $(B)/shim/log.o $(B)/shim/util.o
$(B)/unit/test_notify: $(B)/shim/notify.o $(B)/shim/log.o $(B)/shim/config.o $(B)/shim/util.o
$(B)/unit/test_exec: $(B)/shim/exec.o $(B)/shim/run.o $(B)/shim/environ.o $(B)/shim/elf.o $(B)/shim/log.o
$(B)/unit/test_elf: $(B)/shim/elf.o
$(B)/unit/test_linger: $(B)/shim/linger.o $(B)/shim/util.o
$(B)/unit/test_children: $(B)/shim/children.o $(B)/shim/util.o $(B)/shim/log.o
$(B)/unit/test_intake: $(B)/shim/intake.o $(B)/shim/listener.o $(B)/shim/stash.o $(B)/shim/log.o \
	$(B)/shim/util.o
$(B)/unit/test_drain: $(B)/shim/drain.o $(B)/shim/config.o $(B)/shim/log.o
$(B)/unit/test_util: $(B)/shim/util.o
$(B)/unit/test_wake: $(B)/shim/wake.o $(B)/shim/util.o

# CMOCKA: what the tests link for cmocka (the musl build's own, musl.mk).
CMOCKA ?= -lcmocka
$(B)/unit/test_%: tests/unit/test_%.c | $(B)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $^ $(CMOCKA) -pthread

$(B)/unit:
	mkdir -p $@

check-unit: $(UNIT_BINS)
	for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

# The unit tests under valgrind's memcheck: any invalid access, uninitialised read or leak fails.
MEMCHECK := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
check-memcheck: $(UNIT_BINS)
	for t in $(UNIT_BINS); do echo "== memcheck $$t"; $(MEMCHECK) $$t >/dev/null || exit 1; done

# The musl build: make musl, make check-musl (musl.mk). Last: it names the targets above.
-include musl.mk
