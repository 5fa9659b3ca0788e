# Benchmarks, included by the Makefile: make bench (bench/README.md). Installs what it needs
# (apt-get, only if missing), builds the library, the examples and the tools in build/bench/,
# then runs every figure, prints one table and writes it to bench/results/latest.md.
BENCH_TOOLS := $(addprefix build/bench/,cycle stop scale load cpu reqs)

.PHONY: bench bench-deps bench-tools

bench: bench-deps
	$(MAKE) all bench-tools $(BENCH_BEFORE)
	bench/run.sh

bench-deps:
	.ci/deps wrk gnuplot-nox valgrind lighttpd nodejs

bench-tools: $(BENCH_TOOLS)

# The library as it was before the idle rule waited for quiet (issue 11), for figure 5's drain
# CPU: built from that commit's own sources, if this checkout has the history.
BENCH_BEFORE_COMMIT := c308a43
BENCH_BEFORE := build/bench/before/build/liblastcall.so

$(BENCH_BEFORE):
	rm -rf build/bench/before && mkdir -p build/bench/before
	git archive $(BENCH_BEFORE_COMMIT) Makefile VERSION shim include | tar -x -C build/bench/before
	$(MAKE) -C build/bench/before build/liblastcall.so

build/bench/%: bench/%.c bench/lib.c bench/lib.h | build/bench
	$(CC) $(EX_CFLAGS) -o $@ $< bench/lib.c -pthread

build/bench:
	mkdir -p $@
