/* A tiny unit-test framework: TEST(name) registers itself at load time, the
 * runner (tests/unit/main.c) runs them all and prints "unit: N passed, N failed".
 * Each test file adds TESTs without touching a central list. */
#ifndef DVIPA_TESTS_UNIT_H
#define DVIPA_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
/* Records a failure of the running test; the test goes on unless the check
 * macro returns. */
void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when DVIPA_LONG=1: tests may then run their long (fuzz-like) mode. */
bool unit_long_mode(void);
/* Seed for randomised tests: DVIPA_SEED or a fixed default; printed on failure. */
unsigned long unit_seed(void);

#define TEST(name_)                                                                                \
	static void test_##name_(void);                                                            \
	static struct unit_test unit_##name_ = {#name_, __FILE__, test_##name_, NULL};             \
	__attribute__((constructor)) static void unit_reg_##name_(void)                            \
	{                                                                                          \
		unit_register(&unit_##name_);                                                      \
	}                                                                                          \
	static void test_##name_(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                         \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);   \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                           \
			unit_fail(__FILE__, __LINE__, "%s == %s:\n  got:  \"%s\"\n  want: \"%s\"", \
			          #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#endif
