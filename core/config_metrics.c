/* METRICS LISTEN ADDR:PORT: where dvipad serves its Prometheus metrics
 * (docs/metrics.md). A dvipa statement without a z/OS counterpart; like
 * INTERFACE it stands outside the VIPADYNAMIC block. */
#include <errno.h>

#include "core/config_parser.h"

static const struct config_keyword kw_listen = {"LISTEN", 6};

void config_metrics_stmt(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t;
	char text[IPADDR_STRLEN + 16];
	struct ipaddr a;
	uint16_t port;
	bool first = !p->metrics_kw;
	int err;

	if (p->in_block)
		config_err(p, s->kw, "METRICS belongs outside the VIPADYNAMIC block");
	if (!first)
		config_err(p, s->kw, "METRICS is given twice (first at line %u)",
		           p->metrics_kw->pos.line);
	else
		p->metrics_kw = s->kw;
	t = config_next(s);
	if (!config_is(t, &kw_listen)) {
		config_err(p, t ? t : s->kw, "METRICS needs LISTEN ADDR:PORT");
		return;
	}
	t = config_next(s);
	if (!t) {
		config_err(p, config_last(s), "METRICS LISTEN needs ADDR:PORT or [IPV6]:PORT");
		return;
	}
	err = lexer_copy(t, text, sizeof(text)) ? ipaddr_parse_endpoint(text, &a, &port) : -EINVAL;
	if (err == -ERANGE) {
		config_err(p, t, "the port must be 1 to 65535");
		return;
	}
	if (err < 0) {
		config_err(p, t, "not ADDR:PORT or [IPV6]:PORT (e.g. 127.0.0.1:9447, [::1]:9447)");
		return;
	}
	if (first) {
		p->c->metrics_addr = a;
		p->c->metrics_port = port;
		p->c->metrics_pos = t->pos;
	}
	if ((t = config_peek(s)))
		config_extra(p, t, "METRICS LISTEN", "takes one ADDR:PORT");
}
