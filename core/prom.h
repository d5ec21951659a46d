/* The Prometheus text exposition format, version 0.0.4 (core/prom.c): metric
 * families with their HELP and TYPE lines, samples with escaped label
 * values. Pure. Names are checked: a sample with an invalid metric or label
 * name is not written (a programming error, reported by the return value). */
#ifndef DVIPA_CORE_PROM_H
#define DVIPA_CORE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_GAUGE = 0, PROM_COUNTER, PROM_TYPE_MAX };

struct prom_label {
	const char *name;
	const char *value;
};

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool prom_metric_name_valid(const char *name);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved). */
bool prom_label_name_valid(const char *name);

/* Appends a label value with '\\', '"' and newline escaped (quotes not
 * included). */
void prom_escape_label(struct strbuf *sb, const char *value);
/* The "# HELP" and "# TYPE" lines of a family; each family once, before
 * its samples. 0 or -EINVAL (invalid name). */
int prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help);
/* One sample: name{labels} value. 0 or -EINVAL (invalid name). */
int prom_sample(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
                uint64_t value);
/* A gauge that may be negative or fractional (written with %.17g; NaN and
 * infinities as Prometheus spells them). */
int prom_sample_double(struct strbuf *sb, const char *name, const struct prom_label *labels,
                       size_t n, double value);

#endif
