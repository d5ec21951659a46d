#include "daemon/target.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "net/sysctl.h"

struct target {
	const struct config *config;
	int lo_ifindex;
	struct addr_handle *addr;
	struct diag_handle *diag;
	struct target_addrs lo; /* on lo, put there (or adopted) by this run */
	bool sysctls_set;
	int old_arp_ignore, old_arp_announce;
	char saved_path[PATH_MAX]; /* the old values while ours are set; "" = none */
};

/* ---- life cycle ---- */

void target_set_config(struct target *t, const struct config *config)
{
	t->config = config;
}

int target_new(const struct config *config, struct addr_handle *addr, struct diag_handle *diag,
               const char *run_path, struct target **ret)
{
	struct target *t = calloc(1, sizeof(*t));
	const char *slash = run_path ? strrchr(run_path, '/') : NULL;
	int err;

	if (!t)
		return -ENOMEM;
	if (slash)
		snprintf(t->saved_path, sizeof(t->saved_path), "%.*s/arp-sysctls-%s",
		         (int)(slash - run_path), run_path, config->interface);
	t->config = config;
	t->addr = addr;
	t->diag = diag;
	t->lo_ifindex = addr_ifindex("lo");
	if (t->lo_ifindex < 0) {
		err = t->lo_ifindex;
		log_err("no loopback interface: %s", strerror(-err));
		free(t);
		return err;
	}
	*ret = t;
	return 0;
}

static int target_lo_del(struct target *t, const struct ipaddr *a)
{
	int err = addr_del(t->addr, t->lo_ifindex, a, (uint8_t)ipaddr_max_prefix(a));

	return err == -EADDRNOTAVAIL ? 0 : err;
}

static int target_lo_add(struct target *t, const struct ipaddr *a)
{
	/* No lifetime: connections of a target must outlive a dvipad restart.
	 * IPv6: deprecated at once, so that this node's own connections never
	 * pick it as their source. */
	struct addr_spec s = {
	    .ifindex = t->lo_ifindex,
	    .addr = *a,
	    .prefix_len = (uint8_t)ipaddr_max_prefix(a),
	    .valid_lft = ADDR_LIFETIME_FOREVER,
	    .preferred_lft = a->family == IPADDR_V6 ? 0 : ADDR_LIFETIME_FOREVER,
	};

	return addr_add(t->addr, &s);
}

void target_free(struct target *t)
{
	char text[IPADDR_STRLEN];

	if (!t)
		return;
	for (size_t i = 0; i < t->lo.n; i++)
		if (target_lo_del(t, &t->lo.v[i]) == 0)
			log_info("target DVIPA %s removed from lo",
			         ipaddr_format(&t->lo.v[i], text, sizeof(text)));
	target_sysctls(t, false);
	target_addrs_clear(&t->lo);
	free(t);
}

/* Targets must not answer ARP for the DVIPA they hold on lo, nor use it as
 * the source of their own ARP requests (docs/dataplane.md, Sysctls). The
 * kernel takes the larger of "all" and the interface's value, so setting
 * the interface is enough. */
/* The values a crashed run replaced, when it left them in saved_path. */
static bool target_saved_sysctls(const struct target *t, int *ret_ignore, int *ret_announce)
{
	FILE *f = t->saved_path[0] ? fopen(t->saved_path, "re") : NULL;
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%d %d", ret_ignore, ret_announce) == 2;
	fclose(f);
	return ok;
}

static void target_save_sysctls(const struct target *t)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (!t->saved_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->saved_path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%d %d\n", t->old_arp_ignore, t->old_arp_announce);
	if (fclose(f) == 0 && rename(tmp, t->saved_path) == 0)
		return;
	unlink(tmp);
}

void target_sysctls(struct target *t, bool on)
{
	const char *ifname = t->config->interface;
	int saved_ignore, saved_announce;

	if (on && !t->sysctls_set) {
		if (sysctl_if_set(4, ifname, "arp_ignore", 1, &t->old_arp_ignore) < 0 ||
		    sysctl_if_set(4, ifname, "arp_announce", 2, &t->old_arp_announce) < 0) {
			log_warn("cannot set arp_ignore / arp_announce on %s: targets may answer "
			         "ARP for their DVIPAs",
			         ifname);
			return;
		}
		/* A run that crashed left its values set: restore what it found. */
		if (target_saved_sysctls(t, &saved_ignore, &saved_announce)) {
			t->old_arp_ignore = saved_ignore;
			t->old_arp_announce = saved_announce;
		}
		target_save_sysctls(t);
		t->sysctls_set = true;
	} else if (!on && t->sysctls_set) {
		sysctl_if_set(4, ifname, "arp_ignore", t->old_arp_ignore, NULL);
		sysctl_if_set(4, ifname, "arp_announce", t->old_arp_announce, NULL);
		if (t->saved_path[0])
			unlink(t->saved_path);
		t->sysctls_set = false;
	}
}

/* ---- lo ---- */

void target_set_lo(struct target *t, const struct target_addrs *want)
{
	char text[IPADDR_STRLEN];
	int err;

	for (size_t i = 0; i < want->n; i++) {
		if (target_addrs_has(&t->lo, &want->v[i]))
			continue;
		ipaddr_format(&want->v[i], text, sizeof(text));
		err = target_lo_add(t, &want->v[i]);
		if (err == 0)
			err = target_addrs_add(&t->lo, &want->v[i]);
		if (err < 0) {
			log_err("cannot add target DVIPA %s to lo: %s", text, strerror(-err));
			continue;
		}
		log_info("target DVIPA %s added to lo", text);
	}
	for (size_t i = 0; i < t->lo.n;) {
		struct ipaddr a = t->lo.v[i];

		if (target_addrs_has(want, &a)) {
			i++;
			continue;
		}
		err = target_lo_del(t, &a);
		ipaddr_format(&a, text, sizeof(text));
		if (err < 0) {
			log_err("cannot remove target DVIPA %s from lo: %s", text, strerror(-err));
			i++;
			continue;
		}
		target_addrs_del(&t->lo, &a);
		log_info("target DVIPA %s removed from lo", text);
	}
}

bool target_on_lo(const struct target *t, const struct ipaddr *dvipa)
{
	return target_addrs_has(&t->lo, dvipa);
}

void target_repair(struct target *t)
{
	struct addr_info *v = NULL;
	size_t n = 0;
	char text[IPADDR_STRLEN];

	if (!t->lo.n || addr_list(t->addr, t->lo_ifindex, &v, &n) < 0)
		return;
	for (size_t i = 0; i < t->lo.n; i++) {
		bool present = false;

		for (size_t j = 0; j < n && !present; j++)
			present = ipaddr_equal(&v[j].addr, &t->lo.v[i]);
		if (present)
			continue;
		log_warn("target DVIPA %s was removed from lo behind dvipa's back: %s",
		         ipaddr_format(&t->lo.v[i], text, sizeof(text)),
		         target_lo_add(t, &t->lo.v[i]) < 0 ? "cannot restore it" : "restored");
	}
	free(v);
}

/* Target DVIPAs an earlier run left on lo were adopted (target_set_lo adds
 * them again) while this node is still their target; the others go, once
 * the plex says which DVIPAs exist. */
void target_leftovers(struct target *t, const struct plex *p, const struct dist_view *v)
{
	struct addr_info *a = NULL;
	size_t n = 0;
	char text[IPADDR_STRLEN];

	if (!p || !plex_quorate(p) || !plex_complete(p) ||
	    addr_list(t->addr, t->lo_ifindex, &a, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ipaddr *x = &a[i].addr;
		bool dvipa = config_find_vipa(t->config, x) || plex_owner(p, x) != PLEX_NODE_NONE;

		for (size_t j = 0; j < v->n_services && !dvipa; j++)
			dvipa = ipaddr_equal(&v->services[j].dvipa, x);
		if (!dvipa || a[i].prefix_len != ipaddr_max_prefix(x) ||
		    target_addrs_has(&t->lo, x))
			continue;
		if (target_lo_del(t, x) == 0)
			log_info("removed DVIPA %s left on lo by an earlier run",
			         ipaddr_format(x, text, sizeof(text)));
	}
	free(a);
}

/* ---- services ---- */

static bool target_is_target(const struct dist_view *v, const struct dist_service *s, uint32_t self)
{
	for (size_t j = 0; j < s->n_targets; j++)
		if (v->targets[s->first_target + j].node_id == self)
			return true;
	return false;
}

int target_ready(struct target *t, const struct dist_view *v, uint32_t self,
                 bool (*can_serve)(const void *data, const struct ipaddr *dvipa), const void *data,
                 struct dist_ready **ret, size_t *ret_n)
{
	struct diag_listener *l = NULL;
	size_t n_l = 0, n = 0;
	struct dist_ready *out = NULL;
	int err;

	*ret = NULL;
	*ret_n = 0;
	if (!v->n_services)
		return 0;
	err = diag_listeners(t->diag, &l, &n_l);
	if (err < 0)
		return err;
	for (size_t i = 0; i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];
		uint32_t ready = 0;

		if (!target_is_target(v, s, self) || !can_serve(data, &s->dvipa))
			continue;
		for (size_t j = 0; j < n_l; j++)
			ready += diag_listener_accepts(&l[j], &s->dvipa, s->port);
		if (!ready || n == DIST_MAX_PORTS)
			continue;
		if (!out && !(out = calloc(v->n_services, sizeof(*out)))) {
			free(l);
			return -ENOMEM;
		}
		out[n++] = (struct dist_ready){.dvipa = s->dvipa, .port = s->port, .ready = ready};
	}
	free(l);
	*ret = out;
	*ret_n = n;
	return 0;
}

int target_connections(struct target *t, const struct dist_view *v, uint32_t self,
                       int (*push)(void *data, const struct show_dist_conn *row), void *data)
{
	int err = 0;

	for (size_t i = 0; err >= 0 && i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];
		struct diag_conn *c = NULL;
		size_t n = 0;

		if (!target_is_target(v, s, self) ||
		    diag_conns(t->diag, &s->dvipa, s->port, &c, &n) < 0)
			continue;
		for (size_t j = 0; j < n && err >= 0; j++) {
			struct show_dist_conn row = {
			    .dvipa = s->dvipa,
			    .port = s->port,
			    .client = c[j].remote,
			    .client_port = c[j].remote_port,
			    .target = self,
			    .state = diag_tcp_state_name(c[j].state),
			};

			err = push(data, &row);
		}
		free(c);
	}
	return err;
}
