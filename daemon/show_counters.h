/* `dvipactl show counters`: the BPF data plane's verdict counters of this
 * node (dataplane/dataplane_maps.h), as text or JSON. */
#ifndef DVIPA_DAEMON_SHOW_COUNTERS_H
#define DVIPA_DAEMON_SHOW_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

/* counters: DP_CNT_MAX values, or NULL when no data plane is loaded here. */
char *show_counters(const char *node_name, const uint64_t *counters, bool json);

#endif
