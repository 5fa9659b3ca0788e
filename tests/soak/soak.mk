# Soak (included by the top-level Makefile): start a server under lastcall, load it, SIGTERM,
# drain, SOAK_CYCLES times over the example servers and python3 -m http.server; one summary
# line (cycles, requests, lost, hangs, leaked fds, zombies, wall time). tests/soak/soak.sh says
# what each cycle checks. make soak: 1000 cycles (about 5 minutes); make check-soak: 50.
SOAK_CYCLES ?= 1000
CHECK_SOAK_CYCLES ?= 50

.PHONY: soak check-soak

soak: all $(TEST_TOOLS)
	TEST_BUILD=$(B) SANITIZE=$(SANITIZE) tests/soak/soak.sh $(SOAK_CYCLES)

check-soak: all $(TEST_TOOLS)
	TEST_BUILD=$(B) SANITIZE=$(SANITIZE) tests/soak/soak.sh $(CHECK_SOAK_CYCLES)
