#include "daemon/dvipad.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/config_diff.h"
#include "core/strbuf.h"
#include "core/version.h"
#include "daemon/control.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/metrics.h"
#include "daemon/node.h"
#include "daemon/opfile.h"
#include "daemon/profile.h"

/* Housekeeping period: address refresh, announcements, control timeouts. */
#define TICK_MS 100

struct dvipad {
	struct dvipad_options opts;
	struct config *config;
	struct loop *loop;
	struct control_server *control;
	struct node *node;
	struct metrics_http *metrics;
	struct loop_timer *tick;
	int signal_fd;
};

static int answer_text(char *text, char **ret_body)
{
	if (!text)
		return -errno;
	*ret_body = text;
	return 0;
}

/* Statements the profile may hold that dvipad does not carry out yet. */
static void warn_unbuilt(const char *path, const struct config *c)
{
	for (size_t i = 0; i < c->n_ranges; i++)
		log_warn("%s:%u:%u: VIPARANGE is not built yet: no address in the range becomes a "
		         "DVIPA (docs/config.md)",
		         path, c->ranges[i].pos.line, c->ranges[i].pos.col);
	for (size_t i = 0; i < c->n_dists; i++) {
		bool first = true;

		/* Written once, on the DVIPA's first statement. */
		for (size_t j = 0; j < i && first && c->dists[i].sysplexports; j++)
			first = !ipaddr_equal(&c->dists[j].addr, &c->dists[i].addr);
		if (c->dists[i].sysplexports && first)
			log_warn("%s:%u:%u: SYSPLEXPORTS is not built yet: ports that targets "
			         "choose on the DVIPA are not routed to them (docs/config.md)",
			         path, c->dists[i].pos.line, c->dists[i].pos.col);
	}
}

/* Reads the profile again and applies what changed (dvipactl reload,
 * SIGHUP; z/OS's VARY OBEYFILE). A profile with errors, or a change that
 * cannot be made while running, leaves the profile in effect as it is. */
static int reload(struct dvipad *d, char **ret_body)
{
	const char *path = d->opts.config_path;
	struct config_errors errs = {0};
	struct config *c = NULL;
	struct strbuf sb = {0}, diff = {0};
	char line[512], *msg = NULL;
	int err, n;

	err = profile_load(path, &c, &errs);
	if (err == -EINVAL && errs.n) {
		strbuf_printf(&sb, "%s: %zu error%s; the profile in effect stays:\n", path, errs.n,
		              errs.n == 1 ? "" : "s");
		for (size_t i = 0; i < errs.n; i++) {
			config_error_format(&errs.v[i], path, line, sizeof(line));
			strbuf_printf(&sb, "%s\n", line);
			log_err("reload: %s", line);
		}
		log_err("reload: %s has %zu error%s; the profile in effect stays", path, errs.n,
		        errs.n == 1 ? "" : "s");
		goto out;
	}
	if (err < 0) {
		strbuf_printf(&sb, "%s: %s; the profile in effect stays", path,
		              err == -EFBIG ? "file too large for a profile" : strerror(-err));
		log_err("reload: %s", sb.buf ? sb.buf : path);
		goto out;
	}
	n = config_diff(d->config, c, &diff);
	if (n < 0) {
		err = n;
		goto out;
	}
	if (n == 0) {
		strbuf_printf(&sb, "%s: unchanged; nothing applied\n", path);
		log_info("reload: %s unchanged; nothing applied", path);
		goto out;
	}
	if (c->metrics_port != d->config->metrics_port ||
	    (c->metrics_port && !ipaddr_equal(&c->metrics_addr, &d->config->metrics_addr))) {
		err = -EINVAL;
		strbuf_printf(&sb,
		              "%s: METRICS LISTEN cannot change while dvipad runs: restart "
		              "dvipad for that; the profile in effect stays",
		              path);
		log_err("reload: %s", sb.buf ? sb.buf : path);
		goto out;
	}
	err = node_reload(d->node, c, &msg);
	if (err < 0) {
		strbuf_printf(&sb, "%s: %s; the profile in effect stays", path,
		              msg ? msg : strerror(-err));
		log_err("reload: %s: %s; the profile in effect stays", path,
		        msg ? msg : strerror(-err));
		goto out;
	}
	config_free(d->config);
	d->config = c;
	c = NULL;
	warn_unbuilt(path, d->config);
	strbuf_printf(&sb, "%s reloaded: %d change%s\n%s", path, n, n == 1 ? "" : "s",
	              diff.buf ? diff.buf : "");
	log_info("reload: %s: %d change%s", path, n, n == 1 ? "" : "s");
	for (char *p = diff.buf, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		log_info("reload:   %.*s", (int)(nl - p), p);
	}
out:
	free(msg);
	config_free(c);
	config_errors_clear(&errs);
	strbuf_clear(&diff);
	if (ret_body)
		*ret_body = strbuf_take(&sb);
	else
		strbuf_clear(&sb);
	return err;
}

static int answer_request(struct dvipad *d, const struct control_request *req, char **ret_body)
{
	bool json = req->flags & CONTROL_F_JSON;
	struct ipaddr addr;

	control_request_get_addr(req, &addr);
	switch (req->cmd) {
	case CONTROL_SHOW_CONFIG:
		return answer_text(config_render(d->config, json), ret_body);
	case CONTROL_SHOW_DYNAMIC:
		return answer_text(node_show_dynamic(d->node, json), ret_body);
	case CONTROL_SHOW_PLEX:
		return answer_text(node_show_plex(d->node, json), ret_body);
	case CONTROL_DEACTIVATE:
		if (!(req->flags & CONTROL_F_ADDR))
			return -EINVAL;
		return node_deactivate(d->node, &addr, ret_body);
	case CONTROL_REACTIVATE:
		if (!(req->flags & CONTROL_F_ADDR))
			return -EINVAL;
		return node_reactivate(d->node, &addr, ret_body);
	case CONTROL_LEAVE:
		return node_leave(d->node, ret_body);
	case CONTROL_JOIN:
		return node_join(d->node, ret_body);
	case CONTROL_SHOW_PORTS:
		return answer_text(node_show_ports(d->node, json), ret_body);
	case CONTROL_SHOW_CONNECTIONS:
		return answer_text(node_show_connections(d->node, json), ret_body);
	case CONTROL_SHOW_COUNTERS:
		return answer_text(node_show_counters(d->node, json), ret_body);
	case CONTROL_QUIESCE:
	case CONTROL_RESUME:
		if ((req->flags & CONTROL_F_PORT) && req->port == 0)
			return -EINVAL;
		return node_quiesce(d->node, req->flags & CONTROL_F_PORT ? req->port : 0,
		                    req->cmd == CONTROL_QUIESCE, ret_body);
	case CONTROL_RELOAD:
		return reload(d, ret_body);
	case CONTROL_SHOW_VERSION:
		return answer_text(version_render(json), ret_body);
	case CONTROL_MONITOR:
		/* The statuses as they are now are the starting point: a
		 * change from here on is this monitor's to see. */
		node_watch_statuses(d->node, true);
		return 0;
	default:
		if (asprintf(ret_body, "'%s' is not supported by this dvipad",
		             control_cmd_name(req->cmd)) < 0)
			*ret_body = NULL;
		return -EOPNOTSUPP;
	}
}

static int handle_request(void *data, const struct control_request *req, char **ret_body)
{
	struct dvipad *d = data;
	int err = answer_request(d, req, ret_body);

	/* An operator's command (leave, join, deactivate...) changes
	 * statuses at once, maybe only for a moment. */
	if (control_server_monitors(d->control))
		node_status_events(d->node);
	return err;
}

static void on_signal(int fd, uint32_t events, void *data)
{
	struct dvipad *d = data;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		log_info("signal %s received, reloading %s", strsignal((int)si.ssi_signo),
		         d->opts.config_path);
		reload(d, NULL);
		return;
	}
	log_info("signal %s received, stopping", strsignal((int)si.ssi_signo));
	loop_stop(d->loop);
}

static void on_tick(struct loop_timer *t, void *data)
{
	struct dvipad *d = data;

	uint64_t now = loop_now_ms();

	(void)t;
	control_server_tick(d->control, now);
	metrics_http_tick(d->metrics, now);
	/* Status changes are looked for only while somebody watches: it
	 * derives the whole plex view. */
	node_watch_statuses(d->node, control_server_monitors(d->control) > 0);
	node_tick(d->node, now);
}

static void on_event(void *data, const struct event *e)
{
	struct dvipad *d = data;

	control_server_publish(d->control, e);
}

static char *scrape(void *data)
{
	struct dvipad *d = data;

	return node_metrics(d->node);
}

/* The metrics endpoint, when the command line or the profile asks for one. */
static int open_metrics(struct dvipad *d, const struct config *config)
{
	struct ipaddr addr = config->metrics_addr;
	uint16_t port = config->metrics_port;
	char text[IPADDR_STRLEN + 16];
	int err;

	if (d->opts.metrics_port) {
		addr = d->opts.metrics_addr;
		port = d->opts.metrics_port;
	}
	if (!port)
		return 0;
	ipaddr_format_endpoint(&addr, port, text, sizeof(text));
	err = metrics_http_open(d->loop, &addr, port, scrape, d, &d->metrics);
	if (err < 0) {
		log_err("cannot serve metrics on %s: %s", text, strerror(-err));
		return err;
	}
	log_info("metrics on http://%s/metrics", text);
	return 0;
}

static int setup_signals(struct dvipad *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	return loop_add(d->loop, d->signal_fd, EPOLLIN, on_signal, d);
}

int dvipad_new(const struct dvipad_options *opts, struct config *config, struct dvipad **ret)
{
	struct dvipad *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	d->signal_fd = -1;
	d->loop = loop_new();
	if (!d->loop) {
		err = -errno;
		goto fail;
	}
	err = setup_signals(d);
	if (err < 0)
		goto fail;
	err = control_server_open(d->loop, opts->socket_path, handle_request, d, &d->control);
	if (err < 0) {
		if (err == -EADDRINUSE)
			log_err("another dvipad answers on %s", opts->socket_path);
		else
			log_err("cannot open control socket %s: %s", opts->socket_path,
			        strerror(-err));
		goto fail;
	}
	err = node_new(d->loop, config, opts->socket_path,
	               opts->state_dir ? opts->state_dir : OPFILE_DIR_DEFAULT, &d->node);
	if (err < 0)
		goto fail;
	events_set_sink(node_events(d->node), on_event, d);
	err = open_metrics(d, config);
	if (err < 0)
		goto fail;
	d->tick = loop_timer_new(d->loop, on_tick, d);
	if (!d->tick) {
		err = -errno;
		goto fail;
	}
	err = loop_timer_arm(d->tick, TICK_MS, TICK_MS);
	if (err < 0)
		goto fail;
	d->config = config;
	warn_unbuilt(opts->config_path, config);
	*ret = d;
	return 0;
fail:
	dvipad_free(d);
	return err;
}

int dvipad_run(struct dvipad *d)
{
	int err;

	log_info("started on interface %s, control socket %s", d->config->interface,
	         d->opts.socket_path);
	err = loop_run(d->loop);
	return err < 0 ? err : node_error(d->node);
}

void dvipad_free(struct dvipad *d)
{
	if (!d)
		return;
	loop_timer_free(d->tick);
	metrics_http_close(d->metrics);
	/* The node's last events (leaving the plex) have nobody to go to. */
	if (d->node)
		events_set_sink(node_events(d->node), NULL, NULL);
	node_free(d->node);
	control_server_close(d->control);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	loop_free(d->loop);
	config_free(d->config);
	free(d);
}
