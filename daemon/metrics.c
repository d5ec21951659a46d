#include "daemon/metrics.h"

#include <stdio.h>

#include "core/plex.h"
#include "core/prom.h"
#include "dataplane/dataplane.h"
#include "core/version.h"

/* A member's name for a label: its name, else its node id. */
static const char *metrics_node(const struct metrics_input *in, uint32_t id, char *buf, size_t size)
{
	const char *name = in->name_of ? in->name_of(in->data, id) : NULL;

	if (name && name[0])
		return name;
	snprintf(buf, size, "%u", id);
	return buf;
}

static void metrics_one(struct strbuf *sb, const char *name, enum prom_type type, const char *help,
                        uint64_t value)
{
	prom_family(sb, name, type, help);
	prom_sample(sb, name, NULL, 0, value);
}

static void metrics_plex(struct strbuf *sb, const struct metrics_input *in)
{
	struct prom_label l[] = {{"version", version_string()}};

	prom_family(sb, "dvipa_build_info", PROM_GAUGE, "dvipad's version; always 1");
	prom_sample(sb, "dvipa_build_info", l, 1, 1);
	metrics_one(sb, "dvipa_plex_connected", PROM_GAUGE,
	            "1 while dvipad is connected to corosync", in->connected);
	metrics_one(sb, "dvipa_plex_quorate", PROM_GAUGE, "1 while this node has quorum",
	            in->quorate);
	metrics_one(sb, "dvipa_plex_members", PROM_GAUGE,
	            "members of the plex group (dvipads in corosync's CPG group) as this node "
	            "sees them",
	            in->n_members);
}

static void metrics_dvipas(struct strbuf *sb, const struct metrics_input *in)
{
	char addr[IPADDR_STRLEN];

	prom_family(sb, "dvipa_dvipa_info", PROM_GAUGE,
	            "a DVIPA known here, with its status on this node and the statement that "
	            "gives it (show dynamic); always 1");
	for (size_t i = 0; i < in->n_rows; i++) {
		const struct show_dyn_row *r = &in->rows[i];
		struct prom_label l[] = {
		    {"dvipa", ipaddr_format(&r->addr, addr, sizeof(addr))},
		    {"status", plex_status_name(r->status)},
		    {"origin", show_origin_name(r->origin)},
		};

		prom_sample(sb, "dvipa_dvipa_info", l, 3, 1);
	}
	prom_family(sb, "dvipa_dvipa_active", PROM_GAUGE,
	            "1 when the DVIPA is ACTIVE on this node (this node owns it, or serves it "
	            "as a distribution target), else 0");
	for (size_t i = 0; i < in->n_rows; i++) {
		const struct show_dyn_row *r = &in->rows[i];
		struct prom_label l[] = {{"dvipa", ipaddr_format(&r->addr, addr, sizeof(addr))}};

		prom_sample(sb, "dvipa_dvipa_active", l, 1, r->status == PLEX_STATUS_ACTIVE);
	}
	prom_family(sb, "dvipa_dvipa_connections", PROM_GAUGE,
	            "TCP connections of the DVIPA on this node (show dynamic's CONNS)");
	for (size_t i = 0; i < in->n_rows; i++) {
		const struct show_dyn_row *r = &in->rows[i];
		struct prom_label l[] = {{"dvipa", ipaddr_format(&r->addr, addr, sizeof(addr))}};

		prom_sample(sb, "dvipa_dvipa_connections", l, 1, r->conns);
	}
}

enum metrics_target_value {
	METRICS_CONNS = 0,
	METRICS_READY,
	METRICS_HEALTH,
	METRICS_WEIGHT,
	METRICS_SLOTS,
	METRICS_TARGET_MAX
};

static const struct {
	const char *name, *help;
} metrics_target_families[METRICS_TARGET_MAX] = {
    [METRICS_CONNS] = {"dvipa_target_connections",
                       "open distributed connections of the target (ACTCONN of show ports)"},
    [METRICS_READY] = {"dvipa_target_ready_listeners",
                       "listening sockets the target announced for the port (RDY)"},
    [METRICS_HEALTH] = {"dvipa_target_health_ratio",
                        "how well the target answers new connections, 0 to 1 (HEALTH / 100)"},
    [METRICS_WEIGHT] = {"dvipa_target_weight",
                        "the target's DESTIP WEIGHT (WEIGHTEDACTIVE), or its WLM weight "
                        "(BASEWLM, SERVERWLM)"},
    [METRICS_SLOTS] = {"dvipa_target_slots",
                       "the target's slots of the 256 in the dispatch table: its share of "
                       "new connections"},
};

/* The targets of the services this node distributes: one family at a
 * time, as the format wants. */
static void metrics_targets(struct strbuf *sb, const struct metrics_input *in)
{
	const struct dist_view *v = in->dist;

	for (int f = 0; f < METRICS_TARGET_MAX; f++) {
		prom_family(sb, metrics_target_families[f].name, PROM_GAUGE,
		            metrics_target_families[f].help);
		for (size_t i = 0; v && i < v->n_services; i++) {
			const struct dist_service *s = &v->services[i];
			char addr[IPADDR_STRLEN], port[8], node[16];

			if (s->distributor != in->self || !s->distributor_active)
				continue;
			ipaddr_format(&s->dvipa, addr, sizeof(addr));
			snprintf(port, sizeof(port), "%u", s->port);
			for (size_t j = 0; j < s->n_targets; j++) {
				const struct dist_target *t = &v->targets[s->first_target + j];
				struct prom_label l[] = {
				    {"dvipa", addr},
				    {"port", port},
				    {"target", metrics_node(in, t->node_id, node, sizeof(node))},
				};
				unsigned health = t->flags & DIST_TARGET_SILENT ? 0 : t->health;

				switch (f) {
				case METRICS_CONNS:
					if (t->flags & DIST_TARGET_CONNS)
						prom_sample(sb, metrics_target_families[f].name, l,
						            3, t->active);
					break;
				case METRICS_READY:
					prom_sample(sb, metrics_target_families[f].name, l, 3,
					            t->ready);
					break;
				case METRICS_HEALTH:
					prom_sample_double(sb, metrics_target_families[f].name, l,
					                   3, (double)health / DIST_HEALTH_MAX);
					break;
				case METRICS_WEIGHT:
					prom_sample(sb, metrics_target_families[f].name, l, 3,
					            t->flags & DIST_TARGET_WLM ? t->wlm
					                                       : t->weight);
					break;
				default:
					prom_sample(sb, metrics_target_families[f].name, l, 3,
					            t->slots);
					break;
				}
			}
		}
	}
}

static void metrics_dataplane(struct strbuf *sb, const struct metrics_input *in)
{
	metrics_one(sb, "dvipa_dataplane_loaded", PROM_GAUGE,
	            "1 while the BPF data plane is loaded on this node", in->counters != NULL);
	prom_family(sb, "dvipa_dataplane_packets_total", PROM_COUNTER,
	            "packets the BPF data plane saw, by verdict (dvipactl show counters)");
	for (unsigned i = 0; in->counters && i < DP_CNT_MAX; i++) {
		struct prom_label l[] = {{"verdict", dp_counter_name(i)}};

		prom_sample(sb, "dvipa_dataplane_packets_total", l, 1, in->counters[i]);
	}
}

static void metrics_events(struct strbuf *sb, const struct metrics_input *in)
{
	const struct events_counts *c = in->events;
	struct prom_label joined[] = {{"change", "joined"}}, left[] = {{"change", "left"}};

	metrics_one(sb, "dvipa_takeovers_total", PROM_COUNTER,
	            "owner changes from one node to another that were not takebacks (plex-wide, "
	            "as this node saw them)",
	            c->takeovers);
	metrics_one(sb, "dvipa_takebacks_total", PROM_COUNTER,
	            "owner changes back to a DVIPA's VIPADEFINE node (MOVEABLE IMMEDIATE or "
	            "WHENIDLE; plex-wide, as this node saw them)",
	            c->takebacks);
	prom_family(sb, "dvipa_owner_changes_total", PROM_COUNTER,
	            "owner changes of any DVIPA this node's state machine computed, by reason");
	for (int r = 0; r < PLEX_REASON_MAX; r++) {
		struct prom_label l[] = {{"reason", plex_reason_name((enum plex_reason)r)}};

		prom_sample(sb, "dvipa_owner_changes_total", l, 1, c->owner_changes[r]);
	}
	prom_family(sb, "dvipa_plex_member_changes_total", PROM_COUNTER,
	            "nodes that joined or left the plex group");
	prom_sample(sb, "dvipa_plex_member_changes_total", joined, 1, c->members_joined);
	prom_sample(sb, "dvipa_plex_member_changes_total", left, 1, c->members_left);
	metrics_one(sb, "dvipa_plex_quorum_losses_total", PROM_COUNTER,
	            "times this node lost quorum", c->quorum_lost);
}

char *metrics_render(const struct metrics_input *in)
{
	struct strbuf sb = {0};

	metrics_plex(&sb, in);
	metrics_dvipas(&sb, in);
	metrics_targets(&sb, in);
	metrics_dataplane(&sb, in);
	metrics_events(&sb, in);
	return strbuf_take(&sb);
}
