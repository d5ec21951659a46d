/* The replicated plex state machine (see core/plex.h and docs/plex.md).
 *
 * Every input rebuilds the derived rows (one per DVIPA, sorted) from the
 * member table, then compares old and new owners to record transitions. The
 * rows are rebuilt from scratch rather than patched: the sizes are small (32
 * nodes, a few thousand DVIPAs) and a pure rebuild is what makes every member
 * compute the same thing. */
#include "core/plex.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct plex_member {
	uint32_t id;
	bool has_facts;
	struct plex_facts facts;
};

/* What the rules derive for one DVIPA. */
struct plex_row {
	struct ipaddr dvipa; /* first: rows are searched by address */
	uint8_t prefix_len;
	uint8_t mode;     /* takeback rule: CONFIG_MOVEABLE_IMMEDIATE or _WHENIDLE */
	bool defined;     /* some member defines it */
	bool existing;    /* some member's facts show it exists, see docs/plex.md */
	uint32_t owner;   /* the designated owner */
	uint32_t definer; /* eligible VIPADEFINE node */
	uint32_t keeper;  /* holder that keeps it (sticky) */
	uint32_t keeper_conns;
	bool keeper_quiescing;
	uint32_t holder; /* lowest id whose facts say active */
	uint32_t n_holders;
};

struct plex {
	uint32_t self;
	bool quorate;
	size_t n_members;
	struct plex_member members[PLEX_MAX_NODES];
	uint32_t ids[PLEX_MAX_NODES];
	size_t n_rows;
	struct plex_row *rows;
	/* What this node has seen exist and someone still defines: it announces
	 * this as its "known" list, which carries the history across membership
	 * changes (the derivation itself looks only at current facts). */
	size_t n_memory;
	struct ipaddr *memory;
	size_t n_trans;
	struct plex_transition *trans;
};

/* Which input is being applied: transitions name it when nothing more
 * specific explains a change. */
enum plex_input {
	PLEX_INPUT_MEMBERS,
	PLEX_INPUT_QUORUM,
	PLEX_INPUT_FACTS,
};

/* ipaddr_cmp()'s order (family, then bytes as memcmp() would) in two 64-bit
 * comparisons: the derivation compares addresses millions of times on a big
 * plex, and a libc memcmp() call per comparison dominated its time. */
static int plex_addr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	uint64_t x, y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (size_t off = 0; off < sizeof(a->bytes); off += sizeof(x)) {
		memcpy(&x, a->bytes + off, sizeof(x));
		memcpy(&y, b->bytes + off, sizeof(y));
		x = be64toh(x);
		y = be64toh(y);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int plex_cmp_addr(const void *a, const void *b)
{
	return plex_addr_cmp(a, b);
}

static int plex_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static const struct plex_member *plex_find_member(const struct plex_member *m, size_t n,
                                                  uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].id == id)
			return &m[mid];
		if (m[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct plex_facts *plex_find_facts(const struct plex_member *m, size_t n, uint32_t id)
{
	const struct plex_member *mm = plex_find_member(m, n, id);

	return mm && mm->has_facts ? &mm->facts : NULL;
}

static const struct plex_row *plex_find_row(const struct plex_row *rows, size_t n,
                                            const struct ipaddr *a)
{
	if (!n)
		return NULL;
	return bsearch(a, rows, n, sizeof(*rows), plex_cmp_addr);
}

static bool plex_left(const struct plex_facts *f)
{
	return f->flags & PLEX_FACTS_LEFT;
}

/* May node f own DVIPA a by its definition d (not counting stickiness)? */
static bool plex_eligible(const struct plex_facts *f, const struct plex_def *d,
                          const struct ipaddr *a)
{
	return d && !plex_left(f) && !plex_facts_is_deactivated(f, a);
}

/* Every address some member defines or holds, sorted, unique. */
static int plex_collect(const struct plex_member *m, size_t n, struct ipaddr **ret, size_t *ret_n)
{
	size_t total = 0, k = 0, u = 0;
	struct ipaddr *v;

	for (size_t i = 0; i < n; i++)
		if (m[i].has_facts)
			total += m[i].facts.n_defs + m[i].facts.n_held;
	*ret = NULL;
	*ret_n = 0;
	if (!total)
		return 0;
	v = malloc(total * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!m[i].has_facts)
			continue;
		for (size_t j = 0; j < m[i].facts.n_defs; j++)
			v[k++] = m[i].facts.defs[j].dvipa;
		for (size_t j = 0; j < m[i].facts.n_held; j++)
			v[k++] = m[i].facts.held[j].dvipa;
	}
	qsort(v, k, sizeof(*v), plex_cmp_addr);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || plex_addr_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	*ret = v;
	*ret_n = u;
	return 0;
}

/* A member's entries for one address. Addresses are visited in order and
 * every array of the facts is sorted, so one cursor per member walks each
 * array once for all addresses: a rebuild costs the size of the facts, not
 * addresses x members x log. */
struct plex_cursor {
	size_t def, held, deact, known;
};

struct plex_look {
	const struct plex_def *d;
	const struct plex_held *h;
	bool deact;
	bool known;
};

static const void *plex_advance(const void *base, size_t n, size_t size, size_t *i,
                                const struct ipaddr *a)
{
	const char *v = base;

	for (; *i < n; (*i)++) {
		int c = plex_addr_cmp((const struct ipaddr *)(v + *i * size), a);

		if (c >= 0)
			return c == 0 ? v + *i * size : NULL;
	}
	return NULL;
}

static void plex_look(const struct plex_facts *f, struct plex_cursor *c, const struct ipaddr *a,
                      struct plex_look *l)
{
	l->d = plex_advance(f->defs, f->n_defs, sizeof(*f->defs), &c->def, a);
	l->h = plex_advance(f->held, f->n_held, sizeof(*f->held), &c->held, a);
	l->deact =
	    plex_advance(f->deactivated, f->n_deactivated, sizeof(*f->deactivated), &c->deact, a);
	l->known = plex_advance(f->known, f->n_known, sizeof(*f->known), &c->known, a);
}

/* The rules of docs/plex.md for one DVIPA. Members are in id order, so "first
 * found" is "lowest id" and a strictly better rank is needed to replace. */
static void plex_derive_row(const struct plex_member *m, size_t n, struct plex_cursor *cur,
                            bool quorate, struct plex_row *r)
{
	const struct ipaddr *a = &r->dvipa;
	const struct plex_def *first_define = NULL, *first_def = NULL;
	uint32_t best_any = PLEX_NODE_NONE, best_moveable = PLEX_NODE_NONE;
	int best_any_rank = -1, best_moveable_rank = -1, keeper_rank = -1;
	uint8_t definer_moveable = CONFIG_MOVEABLE_UNSET;
	bool evidence = false;

	for (size_t i = 0; i < n; i++) {
		const struct plex_facts *f = &m[i].facts;
		const struct plex_def *d;
		const struct plex_held *h;
		struct plex_look l;
		bool eligible;

		if (!m[i].has_facts)
			continue;
		plex_look(f, &cur[i], a, &l);
		d = l.d;
		h = l.h;
		eligible = d && !plex_left(f) && !l.deact;
		if (d) {
			r->defined = true;
			if (!first_def)
				first_def = d;
			if (d->kind == CONFIG_VIPADEFINE) {
				evidence = true;
				if (!first_define)
					first_define = d;
			}
		}
		if (h && h->state == PLEX_HELD_ACTIVE) {
			evidence = true;
			if (!r->n_holders++)
				r->holder = m[i].id;
		}
		if (l.known)
			evidence = true;
		if (eligible && d->kind == CONFIG_VIPADEFINE && !r->definer) {
			r->definer = m[i].id;
			definer_moveable = d->moveable;
		}
		if (eligible && d->kind == CONFIG_VIPABACKUP) {
			if (d->rank > best_any_rank) {
				best_any = m[i].id;
				best_any_rank = d->rank;
			}
			if (d->moveable != CONFIG_MOVEABLE_UNSET && d->rank > best_moveable_rank) {
				best_moveable = m[i].id;
				best_moveable_rank = d->rank;
			}
		}
		/* A holder keeps the DVIPA while it may own it, or while it
		 * quiesces: deactivated here but still with connections. One
		 * that may own it comes first: it keeps D where it is active,
		 * while a quiescing one gives D up to anyone who may own it. */
		if (h && h->state == PLEX_HELD_ACTIVE && d && !plex_left(f) &&
		    (eligible || h->conns > 0) &&
		    (!r->keeper || (eligible && r->keeper_quiescing) ||
		     (eligible == !r->keeper_quiescing && d->rank > keeper_rank))) {
			r->keeper = m[i].id;
			r->keeper_conns = h->conns;
			r->keeper_quiescing = !eligible;
			keeper_rank = d->rank;
		}
	}

	if (first_define)
		r->prefix_len = first_define->prefix_len;
	else if (first_def)
		r->prefix_len = first_def->prefix_len;
	else
		r->prefix_len = (uint8_t)ipaddr_max_prefix(a);
	if (!r->definer && first_define)
		definer_moveable = first_define->moveable;
	r->mode = definer_moveable == CONFIG_MOVEABLE_WHENIDLE ? CONFIG_MOVEABLE_WHENIDLE
	                                                       : CONFIG_MOVEABLE_IMMEDIATE;
	r->existing = evidence;

	if (!quorate)
		r->owner = PLEX_NODE_NONE;
	else if (r->keeper && !r->keeper_quiescing && r->definer && r->definer != r->keeper)
		r->owner = r->mode == CONFIG_MOVEABLE_WHENIDLE && r->keeper_conns > 0 ? r->keeper
		                                                                      : r->definer;
	else if (r->keeper && !r->keeper_quiescing)
		r->owner = r->keeper;
	else if (r->definer)
		r->owner = r->definer;
	else
		r->owner = r->existing ? best_any : best_moveable;
	/* A quiescing keeper's connections are for the new owner to forward
	 * (docs/plex.md); with nobody to take over, the keeper stays rather
	 * than cut them off. */
	if (quorate && !r->owner)
		r->owner = r->keeper;
}

static int plex_derive(const struct plex_member *m, size_t n, bool quorate, struct plex_row **ret,
                       size_t *ret_n)
{
	struct plex_cursor cur[PLEX_MAX_NODES] = {0};
	struct ipaddr *addrs;
	struct plex_row *rows = NULL;
	size_t n_addrs;
	int ret_;

	ret_ = plex_collect(m, n, &addrs, &n_addrs);
	if (ret_ < 0)
		return ret_;
	if (n_addrs) {
		rows = calloc(n_addrs, sizeof(*rows));
		if (!rows) {
			ret_ = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n_addrs; i++) {
		rows[i].dvipa = addrs[i];
		plex_derive_row(m, n, cur, quorate, &rows[i]);
	}
	*ret = rows;
	*ret_n = n_addrs;
	ret_ = 0;
out:
	free(addrs);
	return ret_;
}

/* Why did the owner of row `r` change from o to nw? Checks what happened to
 * the old owner first (it is what the operator wants to know), then to the
 * new one. */
static enum plex_reason plex_reason(const struct plex_member *om, size_t on, bool oq,
                                    const struct plex_member *nm, size_t nn, bool nq,
                                    enum plex_input input, const struct plex_row *orow,
                                    const struct plex_row *nrow, const struct ipaddr *a)
{
	uint32_t o = orow ? orow->owner : PLEX_NODE_NONE;
	uint32_t nw = nrow ? nrow->owner : PLEX_NODE_NONE;
	const struct plex_facts *of_old, *of_new, *nf_old, *nf_new;

	if (input == PLEX_INPUT_QUORUM && oq && !nq)
		return PLEX_REASON_QUORUM_LOST;
	if (input == PLEX_INPUT_QUORUM && !oq && nq)
		return PLEX_REASON_QUORUM_GAINED;
	if (o) {
		of_old = plex_find_facts(om, on, o);
		of_new = plex_find_facts(nm, nn, o);
		if (!plex_find_member(nm, nn, o))
			return PLEX_REASON_OWNER_LEFT;
		if (of_new && plex_left(of_new) && !(of_old && plex_left(of_old)))
			return PLEX_REASON_LEAVEGROUP;
		if (of_new && plex_facts_is_deactivated(of_new, a) &&
		    !(of_old && plex_facts_is_deactivated(of_old, a)))
			return PLEX_REASON_DEACTIVATED;
		if (of_new && !plex_facts_find_def(of_new, a))
			return PLEX_REASON_DEFINITION_CHANGED;
		/* It kept D only because nobody else could own it, or until
		 * its connections ended: whatever changed, it is deactivated. */
		if (orow->keeper == o && orow->keeper_quiescing)
			return PLEX_REASON_DEACTIVATED;
		if (orow->keeper == o && nw && nrow->definer == nw) {
			if (orow->keeper_conns > 0 && (nrow->keeper != o || !nrow->keeper_conns))
				return PLEX_REASON_HOLDER_IDLE_TAKEBACK;
			return PLEX_REASON_OWNER_RETURNED_TAKEBACK;
		}
		if (orow->keeper == o && (!nrow || nrow->keeper != o))
			return PLEX_REASON_HOLDER_RELEASED;
	}
	if (nw) {
		nf_old = plex_find_facts(om, on, nw);
		nf_new = plex_find_facts(nm, nn, nw);
		if (!nf_old || !nf_new)
			return nrow->definer == nw ? (o ? PLEX_REASON_OWNER_RETURNED_TAKEBACK
			                                : PLEX_REASON_OWNER_STARTED)
			                           : PLEX_REASON_BACKUP_STARTED;
		if (plex_left(nf_old) && !plex_left(nf_new))
			return PLEX_REASON_JOINGROUP;
		if (plex_facts_is_deactivated(nf_old, a) && !plex_facts_is_deactivated(nf_new, a))
			return PLEX_REASON_REACTIVATED;
		if (!plex_facts_find_def(nf_old, a) && plex_facts_find_def(nf_new, a))
			return PLEX_REASON_DEFINITION_CHANGED;
		if (o && nrow->definer == nw)
			return PLEX_REASON_OWNER_RETURNED_TAKEBACK;
		if (!o && nrow->existing && !(orow && orow->existing))
			return PLEX_REASON_TAKEOVER;
	}
	if (o && !nw && (!nrow || !nrow->existing))
		return PLEX_REASON_DEFINITION_CHANGED;
	return PLEX_REASON_OTHER;
}

/* Compares the old and the new rows (both sorted) and lists owner changes. */
static int plex_diff(const struct plex *p, const struct plex_member *nm, size_t nn, bool nq,
                     const struct plex_row *rows, size_t n_rows, enum plex_input input,
                     struct plex_transition **ret, size_t *ret_n)
{
	struct plex_transition *t = NULL;
	size_t i = 0, j = 0, k = 0, cap = 0;

	while (i < p->n_rows || j < n_rows) {
		const struct plex_row *o = NULL, *nw = NULL;
		int c;

		if (i >= p->n_rows)
			c = 1;
		else if (j >= n_rows)
			c = -1;
		else
			c = ipaddr_cmp(&p->rows[i].dvipa, &rows[j].dvipa);
		if (c <= 0)
			o = &p->rows[i++];
		if (c >= 0)
			nw = &rows[j++];
		if ((o ? o->owner : 0) == (nw ? nw->owner : 0))
			continue;
		if (k == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct plex_transition *v = realloc(t, ncap * sizeof(*t));

			if (!v) {
				free(t);
				return -ENOMEM;
			}
			t = v;
			cap = ncap;
		}
		t[k].dvipa = o ? o->dvipa : nw->dvipa;
		t[k].old_owner = o ? o->owner : PLEX_NODE_NONE;
		t[k].new_owner = nw ? nw->owner : PLEX_NODE_NONE;
		t[k].reason = (uint8_t)plex_reason(p->members, p->n_members, p->quorate, nm, nn, nq,
		                                   input, o, nw, &t[k].dvipa);
		k++;
	}
	*ret = t;
	*ret_n = k;
	return 0;
}

/* The new memory: what is remembered and still defined, plus what exists
 * now. Both inputs are sorted. */
static int plex_remember(const struct ipaddr *mem, size_t n_mem, const struct plex_row *rows,
                         size_t n_rows, struct ipaddr **ret, size_t *ret_n)
{
	struct ipaddr *v = NULL;
	size_t i = 0, j = 0, k = 0;

	*ret = NULL;
	*ret_n = 0;
	if (n_mem + n_rows) {
		v = malloc((n_mem + n_rows) * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	while (i < n_mem || j < n_rows) {
		int c = i >= n_mem ? 1 : j >= n_rows ? -1 : ipaddr_cmp(&mem[i], &rows[j].dvipa);

		/* Remembered but no row: nobody defines or holds it any more. */
		if (c < 0) {
			i++;
			continue;
		}
		if (rows[j].defined && (rows[j].existing || c == 0))
			v[k++] = rows[j].dvipa;
		if (c == 0)
			i++;
		j++;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

/* Derives the state for a new member table and quorum and, when nothing
 * failed, installs it. The caller frees what the old table alone owned. */
static int plex_commit(struct plex *p, const struct plex_member *nm, size_t nn, bool nq,
                       enum plex_input input)
{
	struct plex_row *rows = NULL;
	struct plex_transition *trans = NULL;
	struct ipaddr *memory = NULL;
	size_t n_rows = 0, n_trans = 0, n_memory = 0;
	int ret;

	ret = plex_derive(nm, nn, nq, &rows, &n_rows);
	if (ret < 0)
		return ret;
	ret = plex_diff(p, nm, nn, nq, rows, n_rows, input, &trans, &n_trans);
	if (ret < 0)
		goto fail;
	ret = plex_remember(p->memory, p->n_memory, rows, n_rows, &memory, &n_memory);
	if (ret < 0)
		goto fail;
	free(p->memory);
	p->memory = memory;
	p->n_memory = n_memory;
	free(p->rows);
	p->rows = rows;
	p->n_rows = n_rows;
	free(p->trans);
	p->trans = trans;
	p->n_trans = n_trans;
	if (nm != p->members)
		memcpy(p->members, nm, nn * sizeof(*nm));
	p->n_members = nn;
	for (size_t i = 0; i < nn; i++)
		p->ids[i] = nm[i].id;
	p->quorate = nq;
	return 0;
fail:
	free(rows);
	free(trans);
	return ret;
}

struct plex *plex_new(uint32_t self_id)
{
	struct plex *p;

	if (self_id == PLEX_NODE_NONE) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->self = self_id;
	return p;
}

void plex_free(struct plex *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_members; i++)
		plex_facts_clear(&p->members[i].facts);
	free(p->rows);
	free(p->memory);
	free(p->trans);
	free(p);
}

int plex_set_members(struct plex *p, const uint32_t *ids, size_t n)
{
	struct plex_member nm[PLEX_MAX_NODES];
	uint32_t sorted[PLEX_MAX_NODES];
	bool self_found = false;
	int ret;

	if (n > PLEX_MAX_NODES || (n && !ids))
		return -EINVAL;
	if (n) {
		memcpy(sorted, ids, n * sizeof(*ids));
		qsort(sorted, n, sizeof(*sorted), plex_cmp_u32);
	}
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] == PLEX_NODE_NONE || (i && sorted[i] == sorted[i - 1]))
			return -EINVAL;
		if (sorted[i] == p->self)
			self_found = true;
	}
	if (!self_found)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct plex_member *old =
		    plex_find_member(p->members, p->n_members, sorted[i]);

		if (old) {
			nm[i] = *old;
		} else {
			memset(&nm[i], 0, sizeof(nm[i]));
			nm[i].id = sorted[i];
		}
	}
	/* Remember who leaves before p->members is overwritten. */
	{
		struct plex_member gone[PLEX_MAX_NODES];
		size_t n_gone = 0;

		for (size_t i = 0; i < p->n_members; i++)
			if (!plex_find_member(nm, n, p->members[i].id))
				gone[n_gone++] = p->members[i];
		ret = plex_commit(p, nm, n, p->quorate, PLEX_INPUT_MEMBERS);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i < n_gone; i++)
			plex_facts_clear(&gone[i].facts);
	}
	return 0;
}

int plex_set_quorum(struct plex *p, bool quorate)
{
	return plex_commit(p, p->members, p->n_members, quorate, PLEX_INPUT_QUORUM);
}

int plex_apply_facts(struct plex *p, uint32_t sender, const struct plex_facts *facts)
{
	struct plex_member nm[PLEX_MAX_NODES];
	const struct plex_member *m;
	struct plex_facts copy = {0}, old;
	size_t idx;
	int ret;

	ret = plex_facts_check(facts);
	if (ret < 0)
		return ret;
	if (facts->node_id != sender)
		return -EPERM;
	m = plex_find_member(p->members, p->n_members, sender);
	if (!m)
		return -ESRCH;
	if (m->has_facts && facts->seq <= m->facts.seq)
		return -ESTALE;
	ret = plex_facts_copy(&copy, facts);
	if (ret < 0)
		return ret;
	idx = (size_t)(m - p->members);
	memcpy(nm, p->members, p->n_members * sizeof(*nm));
	old = nm[idx].facts;
	nm[idx].facts = copy;
	nm[idx].has_facts = true;
	ret = plex_commit(p, nm, p->n_members, p->quorate, PLEX_INPUT_FACTS);
	if (ret < 0) {
		plex_facts_clear(&copy);
		return ret;
	}
	plex_facts_clear(&old);
	return 0;
}

uint32_t plex_self(const struct plex *p)
{
	return p->self;
}

bool plex_quorate(const struct plex *p)
{
	return p->quorate;
}

size_t plex_members(const struct plex *p, const uint32_t **ret_ids)
{
	*ret_ids = p->ids;
	return p->n_members;
}

const struct plex_facts *plex_member_facts(const struct plex *p, uint32_t node_id)
{
	return plex_find_facts(p->members, p->n_members, node_id);
}

bool plex_complete(const struct plex *p)
{
	for (size_t i = 0; i < p->n_members; i++)
		if (!p->members[i].has_facts)
			return false;
	return p->n_members > 0;
}

uint32_t plex_owner(const struct plex *p, const struct ipaddr *dvipa)
{
	const struct plex_row *r = plex_find_row(p->rows, p->n_rows, dvipa);

	return r ? r->owner : PLEX_NODE_NONE;
}

static int plex_push_action(struct plex_action **v, size_t *n, size_t *cap, uint8_t type,
                            const struct ipaddr *a, uint8_t prefix_len)
{
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		struct plex_action *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n] = (struct plex_action){.type = type, .prefix_len = prefix_len, .dvipa = *a};
	(*n)++;
	return 0;
}

/* May this node add DVIPA `a`, which it owns and has claimed, to its kernel
 * now? Only when its claim is what everybody has seen last from it, every
 * member has announced, and no other member lists the DVIPA at all: then no
 * other kernel can hold it (docs/plex.md, "the claim protocol"). */
static bool plex_may_add(const struct plex *p, const struct plex_facts *local,
                         const struct ipaddr *a)
{
	const struct plex_facts *mine = plex_find_facts(p->members, p->n_members, p->self);

	if (!mine || mine->seq != local->seq || !plex_complete(p))
		return false;
	if (!plex_facts_find_held(mine, a))
		return false;
	for (size_t i = 0; i < p->n_members; i++)
		if (p->members[i].id != p->self && plex_facts_find_held(&p->members[i].facts, a))
			return false;
	return true;
}

int plex_actions(const struct plex *p, const struct plex_facts *local, struct plex_action **ret,
                 size_t *ret_n)
{
	struct plex_action *v = NULL;
	size_t n = 0, cap = 0, h = 0;
	int ret_ = 0;

	/* The walk below relies on the order plex_facts_check() verifies. */
	if (local->node_id != p->self || plex_facts_check(local) < 0)
		return -EINVAL;
	/* Walk the local held list and the rows together, both sorted. */
	for (size_t r = 0; r <= p->n_rows; r++) {
		const struct plex_row *row = r < p->n_rows ? &p->rows[r] : NULL;

		/* Held entries before this row have no row at all: nobody
		 * defines them any more. */
		for (; h < local->n_held &&
		       (!row || ipaddr_cmp(&local->held[h].dvipa, &row->dvipa) < 0);
		     h++) {
			const struct plex_held *e = &local->held[h];

			/* e points into local->held: never NULL (the analyzer
			 * of clang-tidy 14 loses track of that). */
			// NOLINTBEGIN(clang-analyzer-core.NullDereference)
			uint8_t type =
			    e->state == PLEX_HELD_ACTIVE ? PLEX_ACTION_REMOVE : PLEX_ACTION_UNCLAIM;
			// NOLINTEND(clang-analyzer-core.NullDereference)

			ret_ = plex_push_action(&v, &n, &cap, type, &e->dvipa, 0);
			if (ret_ < 0)
				goto out;
		}
		if (!row)
			break;
		{
			const struct plex_held *e = NULL;
			const struct plex_def *d = plex_facts_find_def(local, &row->dvipa);
			bool mine = row->owner == p->self;

			if (h < local->n_held && ipaddr_equal(&local->held[h].dvipa, &row->dvipa))
				e = &local->held[h++];
			if (e && !mine)
				ret_ = plex_push_action(&v, &n, &cap,
				                        e->state == PLEX_HELD_ACTIVE
				                            ? PLEX_ACTION_REMOVE
				                            : PLEX_ACTION_UNCLAIM,
				                        &e->dvipa, 0);
			else if (!e && mine && plex_eligible(local, d, &row->dvipa))
				ret_ = plex_push_action(&v, &n, &cap, PLEX_ACTION_CLAIM,
				                        &row->dvipa, d->prefix_len);
			else if (e && mine && e->state == PLEX_HELD_CLAIMED && d &&
			         plex_may_add(p, local, &row->dvipa))
				ret_ = plex_push_action(&v, &n, &cap, PLEX_ACTION_ADD, &row->dvipa,
				                        d->prefix_len);
			if (ret_ < 0)
				goto out;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
out:
	free(v);
	return ret_;
}

int plex_fill_known(const struct plex *p, struct plex_facts *f)
{
	struct ipaddr *v = NULL;

	if (p->n_memory) {
		v = malloc(p->n_memory * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, p->memory, p->n_memory * sizeof(*v));
	}
	free(f->known);
	f->known = v;
	f->n_known = p->n_memory;
	return 0;
}

/* What node f shows for row r (z/OS NETSTAT VIPADYN status). */
static enum plex_status plex_status_of(const struct plex *p, const struct plex_row *r,
                                       const struct plex_facts *f, uint32_t id,
                                       const struct plex_def *d, const struct plex_held *h,
                                       bool deact)
{

	if (h && h->state == PLEX_HELD_ACTIVE) {
		/* Deactivated with connections: whether it still owns D (nobody
		 * else may) or hands D over to the new owner, its connections
		 * are finishing here. */
		if (deact && h->conns > 0 && p->quorate && !plex_left(f) && d)
			return PLEX_STATUS_QUIESCING;
		return r->owner == id ? PLEX_STATUS_ACTIVE : PLEX_STATUS_MOVING;
	}
	if (deact)
		return PLEX_STATUS_DEACTIVATED;
	if (!p->quorate || plex_left(f) || !d)
		return PLEX_STATUS_INACTIVE;
	if (r->owner == id)
		return PLEX_STATUS_MOVING;
	/* The VIPADEFINE node waiting for a WHENIDLE holder. */
	if (r->definer == id && r->keeper && r->owner == r->keeper)
		return PLEX_STATUS_MOVING;
	if (d->kind == CONFIG_VIPABACKUP)
		return PLEX_STATUS_BACKUP;
	return r->owner ? PLEX_STATUS_BACKUP : PLEX_STATUS_INACTIVE;
}

int plex_view(const struct plex *p, struct plex_view *ret)
{
	struct plex_view v = {.self = p->self, .quorate = p->quorate, .complete = plex_complete(p)};
	struct plex_cursor cur[PLEX_MAX_NODES] = {0};
	size_t cap = 0;

	v.n_members = p->n_members;
	for (size_t i = 0; i < p->n_members; i++) {
		const struct plex_member *m = &p->members[i];
		struct plex_view_member *vm = &v.members[i];

		vm->node_id = m->id;
		vm->has_facts = m->has_facts;
		if (!m->has_facts)
			continue;
		memcpy(vm->name, m->facts.name, sizeof(vm->name));
		vm->plex_addr = m->facts.plex_addr;
		vm->flags = m->facts.flags;
		vm->seq = m->facts.seq;
	}
	if (p->n_rows) {
		v.dvipas = calloc(p->n_rows, sizeof(*v.dvipas));
		if (!v.dvipas)
			goto fail;
	}
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct plex_row *r = &p->rows[i];
		struct plex_view_dvipa *vd = &v.dvipas[v.n_dvipas++];

		*vd = (struct plex_view_dvipa){
		    .dvipa = r->dvipa,
		    .prefix_len = r->prefix_len,
		    .moveable = r->mode,
		    .existing = r->existing,
		    .owner = r->owner,
		    .holder = r->keeper ? r->keeper : r->holder,
		    .n_holders = r->n_holders,
		    .first_node = v.n_nodes,
		};
		if (r->owner) {
			/* An owner always has facts: it was derived from them. */
			const struct plex_facts *of =
			    plex_find_facts(p->members, p->n_members, r->owner);

			if (of)
				memcpy(vd->owner_name, of->name, sizeof(vd->owner_name));
		}
		for (size_t j = 0; j < p->n_members; j++) {
			const struct plex_member *m = &p->members[j];
			const struct plex_def *d;
			const struct plex_held *h;
			struct plex_view_node *vn;
			struct plex_look l;

			if (!m->has_facts)
				continue;
			plex_look(&m->facts, &cur[j], &r->dvipa, &l);
			d = l.d;
			h = l.h;
			if (!d && !h)
				continue;
			if (v.n_nodes == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct plex_view_node *nv = realloc(v.nodes, ncap * sizeof(*nv));

				if (!nv)
					goto fail;
				v.nodes = nv;
				cap = ncap;
			}
			vn = &v.nodes[v.n_nodes++];
			*vn = (struct plex_view_node){
			    .node_id = m->id,
			    .origin = d ? d->kind : PLEX_ORIGIN_NONE,
			    .rank = d ? d->rank : 0,
			    .moveable = d ? d->moveable : CONFIG_MOVEABLE_UNSET,
			    .status =
			        (uint8_t)plex_status_of(p, r, &m->facts, m->id, d, h, l.deact),
			    .held = h ? h->state : PLEX_HELD_NONE,
			    .conns = h ? h->conns : 0,
			    .activated = h ? h->activated : 0,
			};
			vd->n_nodes++;
		}
	}
	*ret = v;
	return 0;
fail:
	plex_view_clear(&v);
	return -ENOMEM;
}

void plex_view_clear(struct plex_view *v)
{
	if (!v)
		return;
	free(v->dvipas);
	free(v->nodes);
	memset(v, 0, sizeof(*v));
}

size_t plex_transitions(const struct plex *p, const struct plex_transition **ret)
{
	*ret = p->trans;
	return p->n_trans;
}

const char *plex_action_name(enum plex_action_type t)
{
	static const char *const names[PLEX_ACTION_MAX] = {
	    [PLEX_ACTION_ADD] = "add",
	    [PLEX_ACTION_REMOVE] = "remove",
	    [PLEX_ACTION_CLAIM] = "claim",
	    [PLEX_ACTION_UNCLAIM] = "unclaim",
	};

	return (unsigned)t < PLEX_ACTION_MAX ? names[t] : "?";
}

const char *plex_status_name(enum plex_status s)
{
	static const char *const names[PLEX_STATUS_MAX] = {
	    [PLEX_STATUS_ACTIVE] = "ACTIVE",       [PLEX_STATUS_BACKUP] = "BACKUP",
	    [PLEX_STATUS_QUIESCING] = "QUIESCING", [PLEX_STATUS_DEACTIVATED] = "DEACTIVATED",
	    [PLEX_STATUS_MOVING] = "MOVING",       [PLEX_STATUS_INACTIVE] = "INACTIVE",
	};

	return (unsigned)s < PLEX_STATUS_MAX ? names[s] : "?";
}

const char *plex_reason_name(enum plex_reason r)
{
	static const char *const names[PLEX_REASON_MAX] = {
	    [PLEX_REASON_OTHER] = "OTHER",
	    [PLEX_REASON_OWNER_LEFT] = "OWNER_LEFT",
	    [PLEX_REASON_OWNER_RETURNED_TAKEBACK] = "OWNER_RETURNED_TAKEBACK",
	    [PLEX_REASON_HOLDER_IDLE_TAKEBACK] = "HOLDER_IDLE_TAKEBACK",
	    [PLEX_REASON_DEACTIVATED] = "DEACTIVATED",
	    [PLEX_REASON_REACTIVATED] = "REACTIVATED",
	    [PLEX_REASON_QUORUM_LOST] = "QUORUM_LOST",
	    [PLEX_REASON_QUORUM_GAINED] = "QUORUM_GAINED",
	    [PLEX_REASON_LEAVEGROUP] = "LEAVEGROUP",
	    [PLEX_REASON_JOINGROUP] = "JOINGROUP",
	    [PLEX_REASON_BACKUP_STARTED] = "BACKUP_STARTED",
	    [PLEX_REASON_DEFINITION_CHANGED] = "DEFINITION_CHANGED",
	    [PLEX_REASON_OWNER_STARTED] = "OWNER_STARTED",
	    [PLEX_REASON_HOLDER_RELEASED] = "HOLDER_RELEASED",
	    [PLEX_REASON_TAKEOVER] = "TAKEOVER",
	};

	return (unsigned)r < PLEX_REASON_MAX ? names[r] : "?";
}
