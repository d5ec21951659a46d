/* Looking up the derived view (core/dist.c): dist_view_find() and
 * dist_view_role() search the services by (DVIPA, port), as dist_view()
 * sorts them; checked against a scan of every service on random views, and
 * the order on a view derived from a profile with several DVIPAs of both
 * families. */
#include "core/dist.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>

static struct ipaddr tl_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

static const struct dist_service *tl_naive_find(const struct dist_view *v,
                                                const struct ipaddr *dvipa, uint16_t port)
{
	for (size_t i = 0; i < v->n_services; i++)
		if (v->services[i].port == port && ipaddr_equal(&v->services[i].dvipa, dvipa))
			return &v->services[i];
	return NULL;
}

static unsigned tl_naive_role(const struct dist_view *v, uint32_t node, const struct ipaddr *dvipa)
{
	unsigned role = 0;

	for (size_t i = 0; i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];

		if (!ipaddr_equal(&s->dvipa, dvipa))
			continue;
		if (s->distributor == node && s->distributor_active)
			role |= DIST_ROLE_DIST;
		for (size_t j = 0; j < s->n_targets; j++)
			if (v->targets[s->first_target + j].node_id == node)
				role |= DIST_ROLE_DEST;
	}
	return role;
}

static struct ipaddr tl_dvipa(unsigned k)
{
	struct ipaddr a = tl_addr(k & 4 ? "2001:db8::10" : "10.0.0.10");

	a.bytes[k & 4 ? 15 : 3] = (uint8_t)(10 + (k & 3));
	return a;
}

TEST(dist_view_lookups_against_a_scan)
{
	static struct dist_service services[64];
	static struct dist_target targets[64 * 3];
	unsigned seed = (unsigned)unit_seed();
	int rounds = unit_long_mode() ? 2000 : 200;

	for (int round = 0; round < rounds; round++) {
		struct dist_view v = {.services = services, .targets = targets};

		/* DVIPAs 0..7 in order (IPv4 before IPv6), ports ascending. */
		for (unsigned k = 0; k < 8; k++) {
			uint16_t port = 0;

			for (int n = rand_r(&seed) % 9; n > 0 && v.n_services < 64; n--) {
				struct dist_service *s = &services[v.n_services++];

				port = (uint16_t)(port + 1 + rand_r(&seed) % 3);
				*s = (struct dist_service){
				    .dvipa = tl_dvipa(k),
				    .port = port,
				    .distributor = 1 + (uint32_t)(rand_r(&seed) % 3),
				    .distributor_active = rand_r(&seed) % 2,
				    .first_target = v.n_targets,
				    .n_targets = (size_t)(rand_r(&seed) % 3),
				};
				for (size_t j = 0; j < s->n_targets; j++)
					targets[v.n_targets++].node_id =
					    1 + (uint32_t)(rand_r(&seed) % 4);
			}
		}
		for (unsigned k = 0; k < 8; k++) {
			struct ipaddr a = tl_dvipa(k);

			for (uint32_t node = 1; node <= 4; node++)
				CHECK_INT(dist_view_role(&v, node, &a),
				          tl_naive_role(&v, node, &a));
			for (uint16_t port = 0; port < 30; port++)
				CHECK(dist_view_find(&v, &a, port) == tl_naive_find(&v, &a, port));
		}
	}
}

/* The order the lookups rely on, as dist_view() derives it. */
TEST(dist_view_services_sorted)
{
	static const char *const profile =
	    "INTERFACE eth0\nVIPADYNAMIC\n"
	    "VIPADEFINE 255.255.255.0 10.0.0.12 10.0.0.10\n"
	    "VIPADEFINE 2001:db8::10/64\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 2001:db8::10 PORT 80 443 DESTIP ALL\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.12 PORT 9000-9010 22 DESTIP ALL\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 8080 DESTIP ALL\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 DESTIP ALL\n"
	    "ENDVIPADYNAMIC\n";
	static const char *const held[] = {"10.0.0.10", "10.0.0.12", "2001:db8::10"};
	struct config *c = NULL;
	struct plex *p = plex_new(1);
	struct plex_facts f = {.node_id = 1, .seq = 1, .name = "n1"};
	struct dist_facts df = {0};
	struct dist_view v = {0};
	uint32_t id = 1;
	int err;

	CHECK(p != NULL);
	err = config_parse(profile, strlen(profile), &c, NULL);
	if (err == 0)
		err = dist_facts_set_config(&df, c);
	f.plex_addr = tl_addr("192.168.1.1");
	if (err == 0) {
		f.defs = calloc(c->n_vipas, sizeof(*f.defs));
		err = f.defs ? 0 : -ENOMEM;
	}
	for (size_t i = 0; err == 0 && i < c->n_vipas; i++)
		f.defs[f.n_defs++] =
		    (struct plex_def){c->vipas[i].addr, c->vipas[i].prefix_len, c->vipas[i].kind,
		                      c->vipas[i].rank, c->vipas[i].moveable};
	for (size_t i = 0; err == 0 && i < 3; i++) {
		struct plex_held h = {.state = PLEX_HELD_ACTIVE, .activated = 1};

		h.dvipa = tl_addr(held[i]);
		err = plex_facts_set_held(&f, &h);
	}
	if (err == 0)
		err = plex_facts_sort(&f);
	if (err == 0)
		err = plex_set_members(p, &id, 1);
	if (err == 0)
		err = plex_set_quorum(p, true);
	if (err == 0)
		err = plex_apply_facts(p, 1, &f);
	if (err == 0) {
		struct dist_input in = {.plex = p, .local = &f, .local_dist = &df};

		err = dist_view(&in, &v);
	}
	if (err == 0 && v.n_services != 16)
		err = -EINVAL;
	for (size_t i = 1; err == 0 && i < v.n_services; i++) {
		int o = ipaddr_cmp(&v.services[i - 1].dvipa, &v.services[i].dvipa);

		if (o > 0 || (o == 0 && v.services[i - 1].port >= v.services[i].port))
			err = -EDOM;
	}
	dist_view_clear(&v);
	dist_facts_clear(&df);
	plex_facts_clear(&f);
	plex_free(p);
	config_free(c);
	CHECK_INT(err, 0);
}
