/* Runner for the unit tests registered with TEST(); see unit.h.
 * Usage: unit-tests [SUBSTRING]  runs the tests whose name contains SUBSTRING. */
#include "tests/unit/unit.h"

#include <stdarg.h>
#include <stdlib.h>

static struct unit_test *tests;
static int current_failed;

void unit_register(struct unit_test *t)
{
	t->next = tests;
	tests = t;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	current_failed = 1;
}

bool unit_long_mode(void)
{
	const char *v = getenv("DVIPA_LONG");

	return v && strcmp(v, "1") == 0;
}

unsigned long unit_seed(void)
{
	const char *v = getenv("DVIPA_SEED");

	return v ? strtoul(v, NULL, 0) : 0x5eed1234UL;
}

static struct unit_test *reverse(struct unit_test *t)
{
	struct unit_test *out = NULL, *next;

	for (; t; t = next) {
		next = t->next;
		t->next = out;
		out = t;
	}
	return out;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;

	/* Constructors run in link order but prepend: restore file order. */
	tests = reverse(tests);
	for (struct unit_test *t = tests; t; t = t->next) {
		if (filter && !strstr(t->name, filter))
			continue;
		current_failed = 0;
		t->fn();
		if (current_failed) {
			fprintf(stderr, "FAIL %s (%s, seed 0x%lx)\n", t->name, t->file,
			        unit_seed());
			failed++;
		} else {
			printf("ok   %s\n", t->name);
			passed++;
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
