#include "daemon/show_counters.h"

#include <inttypes.h>

#include "core/strbuf.h"
#include "dataplane/dataplane.h"

char *show_counters(const char *node_name, const uint64_t *counters, bool json)
{
	struct strbuf sb = {0};

	if (json) {
		strbuf_puts(&sb, "{\"node\": ");
		strbuf_json_string(&sb, node_name);
		strbuf_printf(&sb, ", \"loaded\": %s, \"counters\": [",
		              counters ? "true" : "false");
		for (unsigned i = 0; counters && i < DP_CNT_MAX; i++) {
			strbuf_printf(&sb, "%s{\"name\": ", i ? ", " : "");
			strbuf_json_string(&sb, dp_counter_name(i));
			strbuf_printf(&sb, ", \"packets\": %" PRIu64 ", \"help\": ", counters[i]);
			strbuf_json_string(&sb, dp_counter_help(i));
			strbuf_puts(&sb, "}");
		}
		strbuf_puts(&sb, "]}\n");
		return strbuf_take(&sb);
	}
	strbuf_printf(&sb, "DATA PLANE COUNTERS (node %s)\n", node_name[0] ? node_name : "?");
	if (!counters) {
		strbuf_puts(&sb, "no BPF data plane is loaded on this node: it neither distributes "
		                 "a DVIPA nor serves as a distribution target\n");
		return strbuf_take(&sb);
	}
	strbuf_printf(&sb, "%-20s %14s  %s\n", "VERDICT", "PACKETS", "MEANING");
	for (unsigned i = 0; i < DP_CNT_MAX; i++)
		strbuf_printf(&sb, "%-20s %14" PRIu64 "  %s\n", dp_counter_name(i), counters[i],
		              dp_counter_help(i));
	return strbuf_take(&sb);
}
