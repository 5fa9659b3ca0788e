# SPDX-License-Identifier: MIT
# The musl build (for Alpine-based images), included at the end of the Makefile: the same
# sources and the same rules, run again by a second make with CC=musl-gcc (Debian's musl-tools)
# and B=$(MB). What differs between the C libraries is in include/lastcall/libc.h.
#   make musl          $(MB)/liblastcall.so, $(MB)/lastcall-parent (for --restart-on) and the
#                      example servers as musl programs
#   make check-musl    against musl: the unit tests, the fuzz corpus replay, and the end-to-end
#                      tests in MUSL_E2E (make check runs it, except in a sanitizer build)
MUSL_CC ?= musl-gcc
MB := $(B)/musl
HAVE_MUSL := $(shell command -v $(MUSL_CC) 2>/dev/null)

# musl-gcc searches musl's headers only; lastcall also needs the kernel's (linux/*.h, asm/*.h),
# which Debian installs for glibc. A directory of links to just those, searched after musl's,
# keeps glibc's own headers out of the musl build.
MUSL_KERNEL_HEADERS := /usr/include/linux /usr/include/asm-generic \
	/usr/include/$(shell $(MUSL_CC) -print-multiarch 2>/dev/null)/asm

# The unit tests include Debian's cmocka.h; Debian's libcmocka is built for glibc and cannot be
# linked into a musl program, so they are linked with tests/unit/cmocka_musl.c, an
# implementation of the part of cmocka's interface the tests use.
MUSL_MAKE = $(MAKE) --no-print-directory B=$(MB) CC=$(MUSL_CC) SANITIZE= \
	CFLAGS="$(CFLAGS) -idirafter $(MB)/include" CMOCKA=$(MB)/unit/cmocka_musl.o FZ=$(MB)/fuzz

# The end-to-end tests run against the musl build: the exported names (00), the core (01),
# exit paths (02), the program's handler and its siginfo (03), children in every stop mode (05)
# and when they do not end (06), intake (07), idle keep-alive (08), systemd notification (19),
# faults (24).
MUSL_E2E ?= $(addprefix tests/e2e/,00-exports.sh 01-default-disposition.sh 02-exit-handlers.sh \
	03-program-handler.sh 05-forking-servers.sh 06-zombies.sh 07-listen-backlog.sh \
	08-idle-keepalive.sh 19-systemd-notify.sh 24-faults.sh)

.PHONY: musl check-musl musl-parts musl-test-parts install-musl uninstall-musl

musl: | $(MB)/include
	$(MUSL_MAKE) musl-parts

# Run by the second make, so these names are its own: $(B) there is $(MB) here.
musl-parts: $(B)/liblastcall.so $(B)/lastcall-parent $(EXAMPLE_BINS)
musl-test-parts: musl-parts $(UNIT_BINS) $(filter-out %/libtsaninit.so %/solo,$(TEST_TOOLS))

check-musl: $(MB)/unit/cmocka_musl.o | $(MB)/include
	$(MUSL_MAKE) musl-test-parts
	for t in $(UNIT_BINS:$(B)/%=$(MB)/%); do echo "== $$t"; $$t || exit 1; done
	@echo "   skip: fuzz_format against musl: its oracle is glibc's strerrorname_np"
	$(MUSL_MAKE) fuzz-replay FUZZ_TARGETS="$(filter-out format,$(FUZZ_TARGETS))"
	TEST_BUILD=$(MB) tests/e2e/run $(MUSL_E2E)

$(MB)/include:
	mkdir -p $@
	ln -sfn $(MUSL_KERNEL_HEADERS) /usr/include/cmocka.h $@/

$(MB)/unit/cmocka_musl.o: tests/unit/cmocka_musl.c | $(MB)/include
	mkdir -p $(@D)
	$(MUSL_CC) $(WARN) $(CFLAGS) -idirafter $(MB)/include -c -o $@ $<

# make bench's figure 1 has rows for the musl build: bench/cycle as a musl program.
bench-tools: $(if $(HAVE_MUSL),musl build/bench/musl/cycle)

build/bench/musl/%: bench/%.c bench/lib.c bench/lib.h
	mkdir -p $(@D)
	$(MUSL_CC) $(EX_CFLAGS) -o $@ $< bench/lib.c -pthread

# make install puts the musl build in $(LIBDIR)/musl/, where the command looks for it, when
# musl-gcc is there to build it.
install: install-musl
uninstall: uninstall-musl

install-musl:
ifneq ($(HAVE_MUSL),)
	$(MAKE) --no-print-directory musl
	install -d $(DESTDIR)$(LIBDIR)/musl
	install -m 644 $(MB)/liblastcall.so $(DESTDIR)$(LIBDIR)/musl/liblastcall.so
	install -m 755 $(MB)/lastcall-parent $(DESTDIR)$(LIBDIR)/musl/lastcall-parent
else
	@echo "install: $(MUSL_CC) not found: the musl build is not installed (Debian: musl-tools)"
endif

uninstall-musl:
	rm -f $(DESTDIR)$(LIBDIR)/musl/liblastcall.so $(DESTDIR)$(LIBDIR)/musl/lastcall-parent
	-rmdir $(DESTDIR)$(LIBDIR)/musl
