#include "daemon/dvipad.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/version.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/node.h"

/* Housekeeping period: address refresh, announcements, control timeouts. */
#define TICK_MS 100

struct dvipad {
	struct dvipad_options opts;
	struct config *config;
	struct loop *loop;
	struct control_server *control;
	struct node *node;
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

static int handle_request(void *data, const struct control_request *req, char **ret_body)
{
	struct dvipad *d = data;
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
	case CONTROL_QUIESCE:
	case CONTROL_RESUME:
		if ((req->flags & CONTROL_F_PORT) && req->port == 0)
			return -EINVAL;
		return node_quiesce(d->node, req->flags & CONTROL_F_PORT ? req->port : 0,
		                    req->cmd == CONTROL_QUIESCE, ret_body);
	case CONTROL_SHOW_VERSION:
		return answer_text(version_render(json), ret_body);
	default:
		if (asprintf(ret_body, "'%s' is not supported by this dvipad",
		             control_cmd_name(req->cmd)) < 0)
			*ret_body = NULL;
		return -EOPNOTSUPP;
	}
}

static void on_signal(int fd, uint32_t events, void *data)
{
	struct dvipad *d = data;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("signal %s received, stopping", strsignal((int)si.ssi_signo));
	loop_stop(d->loop);
}

static void on_tick(struct loop_timer *t, void *data)
{
	struct dvipad *d = data;

	uint64_t now = loop_now_ms();

	(void)t;
	control_server_tick(d->control, now);
	node_tick(d->node, now);
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
	err = node_new(d->loop, config, opts->socket_path, &d->node);
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
	node_free(d->node);
	control_server_close(d->control);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	loop_free(d->loop);
	config_free(d->config);
	free(d);
}
