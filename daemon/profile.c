#include "daemon/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/file.h"

int profile_load(const char *path, struct config **ret, struct config_errors *errs)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	err = file_read(path, PROFILE_SIZE_MAX, true, &text, &len);
	if (err < 0)
		return err;
	err = config_parse(text, len, ret, errs);
	free(text);
	return err;
}

size_t profile_print_errors(const char *path, const struct config_errors *errs)
{
	char line[512];

	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", config_error_format(&errs->v[i], path, line, sizeof(line)));
	return errs->n;
}
