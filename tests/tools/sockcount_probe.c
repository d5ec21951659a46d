/* Drives dataplane/sockcount.c for tests/integration/sockcount.t: loads the
 * counter in the caller's network namespace (seeding it from the sockets
 * already there), prints "ready", then answers each line of stdin, an
 * address, with the count of connections on it ("conns ADDR N"), on
 * "cached ADDR" with the count of a snapshot refreshed first (what the
 * daemon's pass over its DVIPAs reads), and on "diag ADDR" with sock_diag's
 * count for comparison.
 *
 * Usage: sockcount_probe */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipaddr.h"
#include "dataplane/sockcount.h"
#include "net/diag.h"

int main(void)
{
	struct sockcount *s = NULL;
	struct diag_handle *d = diag_open();
	char line[128], word[16], text[IPADDR_STRLEN];
	int err;

	if (!d) {
		fprintf(stderr, "diag_open: %s\n", strerror(errno));
		return 1;
	}
	err = sockcount_open(&s);
	if (err < 0) {
		fprintf(stderr, "sockcount_open: %s\n", strerror(-err));
		diag_close(d);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		struct ipaddr a;
		uint64_t n = 0;
		size_t dn = 0;

		if (sscanf(line, "%15s %45s", word, text) != 2 || ipaddr_parse(text, &a) < 0) {
			printf("error: want 'conns ADDR', 'cached ADDR' or 'diag ADDR'\n");
		} else if (strcmp(word, "diag") == 0) {
			err = diag_count_conns(d, &a, 0, &dn);
			if (err < 0)
				printf("error: %s\n", strerror(-err));
			else
				printf("diag %s %zu\n", text, dn);
		} else if (strcmp(word, "cached") == 0) {
			err = sockcount_refresh(s);
			if (err == 0)
				err = sockcount_cached(s, &a, &n);
			if (err < 0)
				printf("error: %s\n", strerror(-err));
			else
				printf("cached %s %llu\n", text, (unsigned long long)n);
		} else {
			err = sockcount_conns(s, &a, &n);
			if (err < 0)
				printf("error: %s\n", strerror(-err));
			else
				printf("conns %s %llu\n", text, (unsigned long long)n);
		}
		fflush(stdout);
	}
	printf("untracked %llu\n", (unsigned long long)sockcount_untracked(s));
	sockcount_free(s);
	diag_close(d);
	return 0;
}
