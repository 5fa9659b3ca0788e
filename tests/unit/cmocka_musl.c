/* SPDX-License-Identifier: MIT */
/* cmocka_musl: the part of cmocka's interface the unit tests use, for their musl build (the
 * musl build: musl.mk). Debian's libcmocka is built for glibc and cannot be linked into a musl
 * program, and Debian ships no source or static library of it; the tests keep including
 * Debian's cmocka.h, whose macros call these functions. What is here behaves as cmocka does for
 * the tests: a failed assertion ends its test (and only it), a value queued with will_return()
 * or expect_value() that the test left unused fails it, and the run's status counts the failed
 * tests. Not here: cmocka's signal catching (a crash ends the run, which fails it just the
 * same), its allocation checks, and its output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A queued value: for function's mock() (parameter NULL), or for its check_expected(parameter).
 * count: how many uses are left; below 0, any number (will_return_always and the like). */
struct queued {
	const char *function, *parameter, *file;
	int line, count;
	LargestIntegralType value;
};

#define MAX_QUEUED 256
static struct queued queue[MAX_QUEUED];
static int nqueued;

static jmp_buf test_env;
static int in_test;
static int skipped;

static void vreport(const char *file, int line, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s:%d: error: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Ends the running test as failed, after saying why. */
__attribute__((noreturn, format(printf, 3, 4))) static void failed(const char *file, int line,
								   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(file, line, fmt, ap);
	va_end(ap);
	if (!in_test)
		abort();
	longjmp(test_env, 1);
}

void _fail(const char *const file, const int line)
{
	failed(file, line, "failure");
}

void _skip(const char *const file, const int line)
{
	(void)file;
	(void)line;
	skipped = 1;
	if (!in_test)
		abort();
	longjmp(test_env, 1);
}

void _assert_true(const LargestIntegralType result, const char *const expression,
		  const char *const file, const int line)
{
	if (!result)
		failed(file, line, "%s", expression);
}

void _assert_int_equal(const LargestIntegralType a, const LargestIntegralType b,
		       const char *const file, const int line)
{
	if (a != b)
		failed(file, line, "%ju (%#jx) != %ju (%#jx)", a, a, b, b);
}

void _assert_int_not_equal(const LargestIntegralType a, const LargestIntegralType b,
			   const char *const file, const int line)
{
	if (a == b)
		failed(file, line, "%ju (%#jx) == %ju (%#jx)", a, a, b, b);
}

void _assert_string_equal(const char *const a, const char *const b, const char *const file,
			  const int line)
{
	if (!a || !b || strcmp(a, b) != 0)
		failed(file, line, "\"%s\" != \"%s\"", a ? a : "(null)", b ? b : "(null)");
}

void _assert_memory_equal(const void *const a, const void *const b, const size_t size,
			  const char *const file, const int line)
{
	if (memcmp(a, b, size) != 0)
		failed(file, line, "%zu bytes at %p differ from those at %p", size, a, b);
}

static void enqueue(const char *function, const char *parameter, const char *file, int line,
		    LargestIntegralType value, int count)
{
	if (nqueued == MAX_QUEUED)
		failed(file, line, "more than %d values queued", MAX_QUEUED);
	queue[nqueued++] = (struct queued){function, parameter, file, line, count, value};
}

/* The first value queued for function and parameter (NULL: mock()), used once; fails the test
 * if there is none. */
static LargestIntegralType dequeue(const char *function, const char *parameter, const char *file,
				   int line)
{
	LargestIntegralType v;
	int i;

	for (i = 0; i < nqueued; i++) {
		if (strcmp(queue[i].function, function) != 0 ||
		    (parameter == NULL) != (queue[i].parameter == NULL) ||
		    (parameter && strcmp(queue[i].parameter, parameter) != 0))
			continue;
		v = queue[i].value;
		if (queue[i].count > 0 && --queue[i].count == 0) {
			memmove(&queue[i], &queue[i + 1],
				(size_t)(nqueued - i - 1) * sizeof(*queue));
			nqueued--;
		}
		return v;
	}
	if (parameter)
		failed(file, line, "%s(%s): no value expected", function, parameter);
	failed(file, line, "%s: no value queued with will_return()", function);
}

void _will_return(const char *const function_name, const char *const file, const int line,
		  const LargestIntegralType value, const int count)
{
	enqueue(function_name, NULL, file, line, value, count);
}

LargestIntegralType _mock(const char *const function, const char *const file, const int line)
{
	return dequeue(function, NULL, file, line);
}

void _expect_value(const char *const function, const char *const parameter, const char *const file,
		   const int line, const LargestIntegralType value, const int count)
{
	enqueue(function, parameter, file, line, value, count);
}

void _check_expected(const char *const function_name, const char *const parameter_name,
		     const char *file, const int line, const LargestIntegralType value)
{
	LargestIntegralType want = dequeue(function_name, parameter_name, file, line);

	if (value != want)
		failed(file, line, "%s(%s): %ju, expected %ju", function_name, parameter_name,
		       value, want);
}

/* Values a test queued for exactly N uses and left: its failure, as in cmocka. Run as a test
 * step, after the test. */
static void leftovers(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < nqueued; i++)
		if (queue[i].count > 0)
			failed(queue[i].file, queue[i].line, "%s%s%s: %d queued value(s) not used",
			       queue[i].function, queue[i].parameter ? " " : "",
			       queue[i].parameter ? queue[i].parameter : "", queue[i].count);
}

/* Runs fn(state) as the running test; returns 0, or -1 if it failed or was skipped. */
static int guarded(CMUnitTestFunction fn, CMFixtureFunction fixture, void **state)
{
	int r = 0;

	in_test = 1;
	if (setjmp(test_env) == 0) {
		if (fn)
			fn(state);
		else if (fixture(state) != 0)
			r = -1;
	} else {
		r = -1;
	}
	in_test = 0;
	return r;
}

int _cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
			    const size_t num_tests, CMFixtureFunction group_setup,
			    CMFixtureFunction group_teardown)
{
	void *group_state = NULL, *state;
	size_t i, nfailed = 0, nskipped = 0;
	int r;

	printf("[==========] Running %zu test(s) (%s, cmocka_musl).\n", num_tests, group_name);
	if (group_setup && guarded(NULL, group_setup, &group_state) != 0) {
		printf("[  ERROR   ] group setup failed\n");
		return (int)num_tests;
	}
	for (i = 0; i < num_tests; i++) {
		printf("[ RUN      ] %s\n", tests[i].name);
		fflush(stdout);
		state = tests[i].initial_state ? tests[i].initial_state : group_state;
		nqueued = 0;
		skipped = 0;
		r = tests[i].setup_func ? guarded(NULL, tests[i].setup_func, &state) : 0;
		if (r == 0)
			r = guarded(tests[i].test_func, NULL, &state);
		if (r == 0)
			r = guarded(leftovers, NULL, &state);
		if (tests[i].teardown_func && guarded(NULL, tests[i].teardown_func, &state) != 0)
			r = -1;
		if (skipped) {
			nskipped++;
			printf("[  SKIPPED ] %s\n", tests[i].name);
		} else if (r != 0) {
			nfailed++;
			printf("[  FAILED  ] %s\n", tests[i].name);
		} else {
			printf("[       OK ] %s\n", tests[i].name);
		}
	}
	if (group_teardown && guarded(NULL, group_teardown, &group_state) != 0)
		nfailed++;
	printf("[==========] %zu test(s) run.\n[  PASSED  ] %zu test(s).\n", num_tests,
	       num_tests - nfailed - nskipped);
	if (nskipped)
		printf("[  SKIPPED ] %zu test(s).\n", nskipped);
	if (nfailed)
		printf("[  FAILED  ] %zu test(s).\n", nfailed);
	return (int)nfailed;
}
