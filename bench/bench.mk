# Benchmarks, included by the Makefile: make bench (bench/README.md). Installs what it needs
# (apt-get, only if missing), builds the library, the examples and the tools in build/bench/,
# then runs every figure, prints one table and writes it to bench/results/latest.md.
BENCH_TOOLS := $(addprefix build/bench/,cycle stop scale load cpu)

.PHONY: bench bench-deps bench-tools

bench: bench-deps
	$(MAKE) all bench-tools
	bench/run.sh

bench-deps:
	.ci/deps wrk gnuplot-nox valgrind lighttpd

bench-tools: $(BENCH_TOOLS)

build/bench/%: bench/%.c bench/lib.c bench/lib.h | build/bench
	$(CC) $(EX_CFLAGS) -o $@ $< bench/lib.c -pthread

build/bench:
	mkdir -p $@
