# SPDX-License-Identifier: MIT
# Fuzzing (issue 7): a libFuzzer target for each parser of the environment, in tests/fuzz/,
# each with a seed corpus in tests/fuzz/corpus/<target>/. Included by the top-level Makefile.
#   make fuzz         each target for FUZZ_SECONDS (60); new inputs go to build/fuzz/new/
#   make check-fuzz   each target for FUZZ_CHECK_SECONDS (2), after replaying the corpus with
#                     $(CC); without clang and libFuzzer, the replay alone
# Debian packages for libFuzzer: clang libclang-rt-14-dev.
FUZZ_TARGETS := duration signals words config notify format
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 2
FUZZ_CC ?= clang
FZ := build/fuzz
FUZZ_CFLAGS := $(WARN) -Iinclude -Itests/fuzz -O1 -g
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all

# Longest input: values much longer than the 40 characters a warning shows; an environment
# block with ten of them; log lines longer than the 512 bytes of lc_log's buffer.
FUZZ_MAX_LEN = $(or $(FUZZ_MAX_LEN_$(1)),256)
FUZZ_MAX_LEN_config := 4096
FUZZ_MAX_LEN_format := 1024

.PHONY: fuzz check-fuzz fuzz-replay $(FUZZ_TARGETS:%=fuzz-run-%)

# libFuzzer builds: the shim sources compiled again with clang, coverage and sanitizers.
$(FZ)/obj/%.o: shim/%.c $(HEADERS) | $(FZ)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FZ)/obj/config.o $(FZ)/obj/log.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(filter %.o,$^)

$(FZ)/fuzz_notify: $(FZ)/obj/notify.o $(FZ)/obj/util.o

# Plain builds with $(CC): each target with a main() that feeds it the corpus.
$(FZ)/replay/obj/%.o: shim/%.c $(HEADERS) | $(FZ)/replay/obj
	$(CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h \
		$(FZ)/replay/obj/config.o $(FZ)/replay/obj/log.o
	$(CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c %.o,$^)

$(FZ)/replay/fuzz_notify: $(FZ)/replay/obj/notify.o $(FZ)/replay/obj/util.o

# Kept between builds (make would delete them as intermediate files).
.SECONDARY: $(patsubst %,$(FZ)/obj/%.o,config log notify util) \
	$(patsubst %,$(FZ)/replay/obj/%.o,config log notify util)

$(FZ)/obj $(FZ)/replay/obj:
	mkdir -p $@

# One target's run. make fuzz and make check-fuzz set the time and where new inputs go.
fuzz: FUZZ_TIME = $(FUZZ_SECONDS)
fuzz: FUZZ_NEW = new
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)

$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: $(FZ)/fuzz_%
	tests/fuzz/run.sh $< $(FUZZ_TIME) $(call FUZZ_MAX_LEN,$*) $(FZ)/$(FUZZ_NEW)/$* \
		tests/fuzz/corpus/$*

fuzz-replay: $(FUZZ_TARGETS:%=$(FZ)/replay/fuzz_%)
	for t in $(FUZZ_TARGETS); do $(FZ)/replay/fuzz_$$t tests/fuzz/corpus/$$t || exit 1; done

# Whether $(FUZZ_CC) links a libFuzzer target at all.
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
	$(FUZZ_CC) -fsanitize=fuzzer -x c -o $(FZ)/probe - 2>/dev/null

check-fuzz: FUZZ_TIME = $(FUZZ_CHECK_SECONDS)
check-fuzz: FUZZ_NEW = check
check-fuzz: fuzz-replay
	rm -rf $(FZ)/check
	if $(FUZZ_PROBE); then $(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-run-%) \
		FUZZ_TIME=$(FUZZ_TIME) FUZZ_NEW=$(FUZZ_NEW); \
	else echo "check-fuzz: $(FUZZ_CC) cannot build libFuzzer targets (Debian: clang" \
		"libclang-rt-14-dev); the corpus was replayed only"; fi
