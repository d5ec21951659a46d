#include "core/prom.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>

static bool prom_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool prom_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool prom_metric_name_valid(const char *name)
{
	if (!name || !(prom_alpha(name[0]) || name[0] == ':'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!prom_alpha(*p) && !prom_digit(*p) && *p != ':')
			return false;
	return true;
}

bool prom_label_name_valid(const char *name)
{
	if (!name || !prom_alpha(name[0]) || (name[0] == '_' && name[1] == '_'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!prom_alpha(*p) && !prom_digit(*p))
			return false;
	return true;
}

void prom_escape_label(struct strbuf *sb, const char *value)
{
	char run[64];
	size_t n = 0;

	/* Copied in runs: a label value is short, but a byte at a time
	 * through strbuf_printf would be slow for a large plex. */
	for (const char *p = value; *p; p++) {
		const char *esc = *p == '\\'   ? "\\\\"
		                  : *p == '"'  ? "\\\""
		                  : *p == '\n' ? "\\n"
		                               : NULL;

		if (esc || n == sizeof(run) - 1) {
			run[n] = '\0';
			strbuf_puts(sb, run);
			n = 0;
		}
		if (esc)
			strbuf_puts(sb, esc);
		else
			run[n++] = *p;
	}
	run[n] = '\0';
	strbuf_puts(sb, run);
}

/* HELP text escapes '\\' and newline only. */
static void prom_escape_help(struct strbuf *sb, const char *help)
{
	char one[2] = {0};

	for (const char *p = help; *p; p++) {
		if (*p == '\\') {
			strbuf_puts(sb, "\\\\");
		} else if (*p == '\n') {
			strbuf_puts(sb, "\\n");
		} else {
			one[0] = *p;
			strbuf_puts(sb, one);
		}
	}
}

int prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help)
{
	static const char *const types[PROM_TYPE_MAX] = {
	    [PROM_GAUGE] = "gauge",
	    [PROM_COUNTER] = "counter",
	};

	if (!prom_metric_name_valid(name) || (unsigned)type >= PROM_TYPE_MAX)
		return -EINVAL;
	strbuf_printf(sb, "# HELP %s ", name);
	prom_escape_help(sb, help ? help : "");
	strbuf_printf(sb, "\n# TYPE %s %s\n", name, types[type]);
	return 0;
}

static int prom_head(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n)
{
	if (!prom_metric_name_valid(name))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!prom_label_name_valid(labels[i].name) || !labels[i].value)
			return -EINVAL;
	strbuf_puts(sb, name);
	if (n) {
		strbuf_puts(sb, "{");
		for (size_t i = 0; i < n; i++) {
			strbuf_printf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
			prom_escape_label(sb, labels[i].value);
			strbuf_puts(sb, "\"");
		}
		strbuf_puts(sb, "}");
	}
	return 0;
}

int prom_sample(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
                uint64_t value)
{
	int err = prom_head(sb, name, labels, n);

	if (err == 0)
		strbuf_printf(sb, " %" PRIu64 "\n", value);
	return err;
}

int prom_sample_double(struct strbuf *sb, const char *name, const struct prom_label *labels,
                       size_t n, double value)
{
	int err = prom_head(sb, name, labels, n);

	if (err < 0)
		return err;
	if (isnan(value))
		strbuf_puts(sb, " NaN\n");
	else if (isinf(value))
		strbuf_puts(sb, value > 0 ? " +Inf\n" : " -Inf\n");
	else
		strbuf_printf(sb, " %.17g\n", value);
	return 0;
}
