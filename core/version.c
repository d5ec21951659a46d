#include "core/version.h"

#include "core/control.h"
#include "core/strbuf.h"
#include "core/wire.h"

/* The Makefile passes DVIPA_VERSION for this file only, so that a new
 * version rebuilds one object. */
#ifndef DVIPA_VERSION
#define DVIPA_VERSION "unknown"
#endif

const char *version_string(void)
{
	return DVIPA_VERSION;
}

char *version_render(bool json)
{
	struct strbuf sb = {0};

	if (json) {
		strbuf_puts(&sb, "{\"version\": ");
		strbuf_json_string(&sb, version_string());
		strbuf_printf(&sb, ", \"wire_protocol\": %u, \"control_protocol\": %u}\n",
		              (unsigned)WIRE_VERSION, (unsigned)CONTROL_VERSION);
	} else {
		strbuf_printf(&sb,
		              "dvipa %s\n"
		              "wire protocol    %u\n"
		              "control protocol %u\n",
		              version_string(), (unsigned)WIRE_VERSION, (unsigned)CONTROL_VERSION);
	}
	return strbuf_take(&sb);
}
