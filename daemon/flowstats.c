/* What the distributor measures from its flow table (see
 * daemon/flowstats.h). */
#include "daemon/flowstats.h"

#include <errno.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/loop.h"

#define NS_PER_MS 1000000ull

static int flowstats_count_flow(const struct dp_flow_info *f, void *data)
{
	struct dist_count_flow flow = {
	    .dvipa = f->dvipa,
	    .port = f->dvipa_port,
	    .node_id = f->target.node_id,
	    .closing = f->closing,
	    .established = f->established,
	    .syn_retrans = f->syn_retrans,
	    .created_ns = f->created_ns,
	};

	return dist_count_add(data, &flow);
}

/* Counts the flows of the data plane per service and target into *cs, with
 * the flows created in [settle_from_ns, settle_to_ns) settling (an empty
 * window: none), and how many are new since the counts in before (may be
 * NULL). */
static int flowstats_count(struct dp *dp, struct dist_count *cs, const struct dist_count *before,
                           uint64_t settle_from_ns, uint64_t settle_to_ns)
{
	int err;

	dist_count_start(cs, loop_now_ms() * NS_PER_MS, settle_from_ns, settle_to_ns);
	if (!dp)
		return -ENODEV;
	err = dp_flow_foreach(dp, flowstats_count_flow, cs);
	if (err < 0)
		return err;
	dist_count_recent(cs, before);
	return 0;
}

int flowstats_count_now(struct dp *dp, struct dist_count *ret)
{
	return flowstats_count(dp, ret, NULL, 0, 0);
}

struct flowstats_names {
	const struct plex *p;
	const struct plex_facts *local;
};

/* The log says when a target's health falls below DIST_HEALTH_LOW and when
 * it comes back: the operator sees it, as in `show ports`. */
static void flowstats_health_changed(void *data, const struct dist_health_entry *e, uint8_t before)
{
	const struct flowstats_names *names = data;
	const struct plex_facts *f =
	    e->node_id == names->local->node_id
	        ? names->local
	        : (names->p ? plex_member_facts(names->p, e->node_id) : NULL);
	char text[IPADDR_STRLEN];

	ipaddr_format(&e->dvipa, text, sizeof(text));
	if (e->h.health < DIST_HEALTH_LOW)
		log_warn("target %s (%u) of %s%s%s:%u: health %u -> %u (%s)", f ? f->name : "",
		         e->node_id, e->dvipa.family == IPADDR_V6 ? "[" : "", text,
		         e->dvipa.family == IPADDR_V6 ? "]" : "", e->port, before, e->h.health,
		         dist_health_reason(&e->h));
	else
		log_info("target %s (%u) of %s%s%s:%u: health %u -> %u (healthy again)",
		         f ? f->name : "", e->node_id, e->dvipa.family == IPADDR_V6 ? "[" : "",
		         text, e->dvipa.family == IPADDR_V6 ? "]" : "", e->port, before,
		         e->h.health);
}

/* Fresh counts: for WEIGHTEDACTIVE (the last ones become the counts before)
 * and for the health of the targets, from the flows that settled since the
 * counts before. */
static void flowstats_read(struct flowstats *fs, struct dp *dp, const struct dist_view *v,
                           const struct plex *p, const struct plex_facts *local, uint64_t now_ms)
{
	struct dist_count swap = fs->prev_conns;
	struct flowstats_names names = {.p = p, .local = local};
	uint64_t from_ms = fs->last_ms;
	int err;

	if (fs->have_conns) {
		fs->prev_conns = fs->conns;
		fs->conns = swap;
	}
	/* Flows created in [from - settle, now - settle) settle now. The
	 * first time, or after a pause, only the last interval's. */
	if (!from_ms || from_ms + 4 * FLOWSTATS_MS < now_ms || from_ms > now_ms)
		from_ms = now_ms > FLOWSTATS_MS ? now_ms - FLOWSTATS_MS : 0;
	err = flowstats_count(
	    dp, &fs->conns, fs->have_conns ? &fs->prev_conns : NULL,
	    from_ms > DIST_HEALTH_SETTLE_MS ? (from_ms - DIST_HEALTH_SETTLE_MS) * NS_PER_MS : 0,
	    now_ms > DIST_HEALTH_SETTLE_MS ? (now_ms - DIST_HEALTH_SETTLE_MS) * NS_PER_MS : 0);
	fs->have_conns = err == 0;
	if (err < 0 && err != -ENODEV)
		log_debug("reading the flow table: %s", strerror(-err));
	if (err < 0)
		return;
	fs->last_ms = now_ms;
	err = dist_health_table_update(&fs->health, v, fs->conns.settled, fs->conns.n,
	                               flowstats_health_changed, &names);
	if (err < 0)
		log_debug("measuring the targets' health: %s", strerror(-err));
}

/* Whether node self distributes any service of v now: then it counts flows. */
static bool flowstats_distributes(const struct dist_view *v, uint32_t self)
{
	for (size_t i = 0; i < v->n_services; i++)
		if (v->services[i].distributor == self && v->services[i].distributor_active)
			return true;
	return false;
}

void flowstats_tick(struct flowstats *fs, struct dp *dp, const struct dist_view *v, uint32_t self,
                    const struct plex *p, const struct plex_facts *local, uint64_t now_ms)
{
	if (now_ms < fs->next_ms)
		return;
	fs->next_ms = now_ms + FLOWSTATS_MS;
	if (flowstats_distributes(v, self)) {
		flowstats_read(fs, dp, v, p, local, now_ms);
	} else {
		fs->have_conns = false;
		fs->last_ms = 0;
		dist_health_table_clear(&fs->health);
	}
}

const struct dist_count *flowstats_conns(const struct flowstats *fs)
{
	return fs->have_conns ? &fs->conns : NULL;
}

const struct dist_health_table *flowstats_health(const struct flowstats *fs)
{
	return &fs->health;
}

void flowstats_clear(struct flowstats *fs)
{
	if (!fs)
		return;
	dist_count_clear(&fs->conns);
	dist_count_clear(&fs->prev_conns);
	dist_health_table_clear(&fs->health);
	memset(fs, 0, sizeof(*fs));
}
