/* SPDX-License-Identifier: MIT */
/* libtsaninit.so: an empty library built with -fsanitize=thread. TSan's runtime, preloaded into
 * a program that has no instrumented code (sh, python3), crashes it at start; with one
 * instrumented library loaded beside it, the runtime initialises and the program runs. The
 * tests of a TSan build preload the two together (tests/lib/lib.sh). */
void lc_tsaninit(void);

void lc_tsaninit(void)
{
}
