/* Workload figures for BASEWLM and SERVERWLM (see core/wlm.h). */
#include "core/wlm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- reports ---- */

void wlm_report_clear(struct wlm_report *r)
{
	if (!r)
		return;
	free(r->servers);
	memset(r, 0, sizeof(*r));
}

int wlm_report_copy(struct wlm_report *dst, const struct wlm_report *src)
{
	struct wlm_report c = *src;

	if (src->n_servers) {
		c.servers = malloc(src->n_servers * sizeof(*c.servers));
		if (!c.servers)
			return -ENOMEM;
		memcpy(c.servers, src->servers, src->n_servers * sizeof(*c.servers));
	} else {
		c.servers = NULL;
	}
	wlm_report_clear(dst);
	*dst = c;
	return 0;
}

static int wlm_cmp_server(const struct wlm_server *a, const struct wlm_server *b)
{
	int c = ipaddr_cmp(&a->dvipa, &b->dvipa);

	if (c)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

static bool wlm_family_ok(const struct ipaddr *a)
{
	static const uint8_t zero[12];

	if (a->family == IPADDR_V6)
		return true;
	return a->family == IPADDR_V4 && memcmp(a->bytes + 4, zero, sizeof(zero)) == 0;
}

int wlm_report_check(const struct wlm_report *r)
{
	if (r->capacity > WLM_CAPACITY_MAX || (!r->has_capacity && r->capacity))
		return -EINVAL;
	if (r->n_servers > WLM_MAX_SERVERS || (r->n_servers && !r->servers))
		return -EINVAL;
	for (size_t i = 0; i < r->n_servers; i++) {
		const struct wlm_server *s = &r->servers[i];

		if (!wlm_family_ok(&s->dvipa) || !s->port || s->efficiency >= WLM_EFFICIENCY_FULL)
			return -EINVAL;
		if (i && wlm_cmp_server(&r->servers[i - 1], s) >= 0)
			return -EINVAL;
	}
	return 0;
}

bool wlm_report_equal(const struct wlm_report *a, const struct wlm_report *b)
{
	if (a->has_capacity != b->has_capacity || a->capacity != b->capacity ||
	    a->n_servers != b->n_servers)
		return false;
	for (size_t i = 0; i < a->n_servers; i++)
		if (wlm_cmp_server(&a->servers[i], &b->servers[i]) != 0 ||
		    a->servers[i].efficiency != b->servers[i].efficiency)
			return false;
	return true;
}

unsigned wlm_report_efficiency(const struct wlm_report *r, const struct ipaddr *dvipa,
                               uint16_t port)
{
	struct wlm_server key = {.dvipa = *dvipa, .port = port};
	size_t lo = 0, hi = r->n_servers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = wlm_cmp_server(&r->servers[mid], &key);

		if (c == 0)
			return r->servers[mid].efficiency;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return WLM_EFFICIENCY_FULL;
}

/* ---- measuring ---- */

static uint64_t wlm_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* What a cgroup level leaves spare, in millicpus, or UINT64_MAX when it
 * has no usable limit. */
static uint64_t wlm_limit_spare(const struct wlm_limit *b, const struct wlm_limit *a,
                                uint64_t elapsed_ms)
{
	uint64_t quota, used = 0;

	if (!a->period_us || a->quota_us > UINT64_MAX / 1000)
		return UINT64_MAX;
	quota = a->quota_us * 1000 / a->period_us;
	/* Nanoseconds of CPU per millisecond of wall time, over 1000: millicpus. */
	if (a->has_usage && b->has_usage && elapsed_ms && a->usage_ns >= b->usage_ns)
		used = (a->usage_ns - b->usage_ns) / (elapsed_ms * 1000);
	return quota > used ? quota - used : 0;
}

uint32_t wlm_spare(const struct wlm_sample *before, const struct wlm_sample *after,
                   uint64_t elapsed_ms)
{
	uint64_t spare = (uint64_t)after->n_cpus * 1000;
	size_t n = before->n_limits < after->n_limits ? before->n_limits : after->n_limits;

	if (after->total > before->total && after->idle >= before->idle) {
		uint64_t dt = after->total - before->total;
		uint64_t di = wlm_min(after->idle - before->idle, dt);

		/* Ticks of an interval of seconds: no overflow. */
		spare = (uint64_t)after->n_cpus * 1000 * di / dt;
	}
	for (size_t i = 0; i < n && i < WLM_MAX_LIMITS; i++)
		spare = wlm_min(spare,
		                wlm_limit_spare(&before->limits[i], &after->limits[i], elapsed_ms));
	return (uint32_t)wlm_min(spare, WLM_CAPACITY_MAX);
}

/* The next unsigned number of a line, skipping blanks; false at its end. */
static bool wlm_next_number(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*ret = v;
	return true;
}

int wlm_parse_stat(const char *text, const uint8_t *allowed, size_t allowed_bytes,
                   struct wlm_sample *ret)
{
	uint64_t idle = 0, total = 0;
	unsigned n = 0;

	for (const char *line = text; line && *line;) {
		const char *next = strchr(line, '\n');
		const char *p = line + 3;
		uint64_t cpu, v[8] = {0};
		size_t k = 0;

		if (strncmp(line, "cpu", 3) == 0 && *p >= '0' && *p <= '9' &&
		    wlm_next_number(&p, &cpu) &&
		    (!allowed ||
		     (cpu / 8 < allowed_bytes && (allowed[cpu / 8] >> (cpu % 8)) & 1))) {
			/* user nice system idle iowait irq softirq steal; guest
			 * time is in user already. */
			while (k < 8 && wlm_next_number(&p, &v[k]))
				k++;
			if (k >= 4) {
				for (size_t i = 0; i < 8; i++)
					total += v[i];
				idle += v[3] + v[4];
				n++;
			}
		}
		line = next ? next + 1 : NULL;
	}
	if (!n)
		return -EINVAL;
	ret->idle = idle;
	ret->total = total;
	ret->n_cpus = n;
	return 0;
}

unsigned wlm_efficiency(uint64_t queued, uint64_t room, uint64_t drops, uint64_t elapsed_ms)
{
	uint64_t e = WLM_EFFICIENCY_FULL;

	if (room) {
		if (queued >= room)
			e = 0;
		else if (queued > UINT64_MAX / WLM_EFFICIENCY_FULL)
			e = WLM_EFFICIENCY_FULL - queued / (room / WLM_EFFICIENCY_FULL);
		else
			e = WLM_EFFICIENCY_FULL - queued * WLM_EFFICIENCY_FULL / room;
	}
	if (drops) {
		/* e / (1 + drops per second), in integers. */
		if (!elapsed_ms || drops > UINT64_MAX / 2000 || elapsed_ms > UINT64_MAX / 2000)
			e = 0;
		else
			e = e * elapsed_ms / (elapsed_ms + drops * 1000);
	}
	return (unsigned)e;
}

/* ---- reporting ---- */

uint32_t wlm_quantize_capacity(uint32_t capacity)
{
	uint32_t step = capacity < 1000 ? 10 : capacity < 10000 ? 100 : 1000;
	uint64_t q;

	if (capacity > WLM_CAPACITY_MAX)
		capacity = WLM_CAPACITY_MAX;
	q = ((uint64_t)capacity + step / 2) / step * step;
	return (uint32_t)(q > WLM_CAPACITY_MAX ? q - step : q);
}

unsigned wlm_quantize_efficiency(unsigned efficiency)
{
	if (efficiency >= WLM_EFFICIENCY_FULL)
		return WLM_EFFICIENCY_FULL;
	return (efficiency + 5) / 10 * 10;
}

bool wlm_capacity_changed(uint32_t reported, uint32_t now)
{
	uint32_t diff = now > reported ? now - reported : reported - now;
	uint32_t step = reported / 8 > 20 ? reported / 8 : 20;

	return diff >= step;
}

bool wlm_efficiency_changed(unsigned reported, unsigned now)
{
	unsigned diff = now > reported ? now - reported : reported - now;

	if (now == reported)
		return false;
	return diff >= 20 || now == 0 || now == WLM_EFFICIENCY_FULL;
}

bool wlm_damp_allow(struct wlm_damp *d, uint64_t now_ms, bool want, bool urgent)
{
	uint64_t hold = d->hold_ms ? d->hold_ms : WLM_HOLD_MIN_MS;

	if (!want) {
		d->hold_ms = hold / 2 > WLM_HOLD_MIN_MS ? hold / 2 : WLM_HOLD_MIN_MS;
		return false;
	}
	if (now_ms < d->next_ms && !urgent)
		return false;
	d->next_ms = now_ms + hold;
	d->hold_ms = 2 * hold < WLM_HOLD_MAX_MS ? 2 * hold : WLM_HOLD_MAX_MS;
	return true;
}

/* ---- weighing ---- */

static uint64_t wlm_raw(const struct wlm_weigh *w, bool server_specific)
{
	unsigned e = w->efficiency > WLM_EFFICIENCY_FULL ? WLM_EFFICIENCY_FULL : w->efficiency;

	return (uint64_t)w->capacity * (server_specific ? e : WLM_EFFICIENCY_FULL);
}

bool wlm_weigh(struct wlm_weigh *v, size_t n, bool server_specific)
{
	uint64_t max = 0, sum = 0, count = 0, mean;
	bool any_eligible = false, any = false;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].reported || !v[i].eligible)
			continue;
		any_eligible = true;
		if (wlm_raw(&v[i], server_specific) > max)
			max = wlm_raw(&v[i], server_specific);
	}
	/* Nobody eligible reported: weigh the others among themselves, for
	 * the displays. */
	for (size_t i = 0; i < n && !any_eligible; i++)
		if (v[i].reported && wlm_raw(&v[i], server_specific) > max)
			max = wlm_raw(&v[i], server_specific);
	for (size_t i = 0; i < n; i++) {
		uint64_t raw = wlm_raw(&v[i], server_specific), w;

		v[i].weight = 0;
		if (!v[i].reported || !max)
			continue;
		w = (raw * WLM_WEIGHT_MAX + max / 2) / max;
		if (!w && raw)
			w = 1;
		v[i].weight = (unsigned)wlm_min(w, WLM_WEIGHT_MAX);
		if (v[i].eligible) {
			sum += v[i].weight;
			count++;
		}
	}
	mean = count ? (sum + count / 2) / count : 0;
	if (count && !mean && sum)
		mean = 1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].reported)
			continue;
		v[i].weight = (unsigned)mean;
		if (server_specific && mean) {
			unsigned e = v[i].efficiency > WLM_EFFICIENCY_FULL ? WLM_EFFICIENCY_FULL
			                                                   : v[i].efficiency;

			v[i].weight =
			    (unsigned)((mean * e + WLM_EFFICIENCY_FULL / 2) / WLM_EFFICIENCY_FULL);
			if (!v[i].weight && e)
				v[i].weight = 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		any |= v[i].eligible && v[i].weight > 0;
	return any;
}
