#include "daemon/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct watch {
	int fd;
	bool dead;
	loop_fd_fn fn;
	void *data;
	struct watch *next; /* all watches, to find one by fd and free dead ones */
};

struct loop {
	int epfd;
	bool stop;
	struct watch *watches;
};

struct loop_timer {
	struct loop *loop;
	int fd;
	loop_timer_fn fn;
	void *data;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;

		free(l);
		errno = err;
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	struct watch *w, *next;

	if (!l)
		return;
	for (w = l->watches; w; w = next) {
		next = w->next;
		free(w);
	}
	close(l->epfd);
	free(l);
}

static struct watch *find_watch(struct loop *l, int fd)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data)
{
	struct epoll_event ev = {.events = events};
	struct watch *w;

	if (find_watch(l, fd))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->data = data;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct watch *w = find_watch(l, fd);
	struct epoll_event ev = {.events = events};

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct loop *l, int fd)
{
	struct watch *w = find_watch(l, fd);

	if (!w)
		return -ENOENT;
	/* Freed after the current batch: an event for it may still be pending. */
	w->dead = true;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	return 0;
}

static void reap(struct loop *l)
{
	struct watch **pp = &l->watches;

	while (*pp) {
		struct watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct watch *w = evs[i].data.ptr;

			if (!w->dead)
				w->fn(w->fd, evs[i].events, w->data);
		}
		reap(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t loop_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

static void timer_ready(int fd, uint32_t events, void *data)
{
	struct loop_timer *t = data;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	t->fn(t, t->data);
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_fn fn, void *data)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return NULL;
	t->loop = l;
	t->fn = fn;
	t->data = data;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0) {
		err = errno;
		goto fail;
	}
	err = -loop_add(l, t->fd, EPOLLIN, timer_ready, t);
	if (err) {
		close(t->fd);
		goto fail;
	}
	return t;
fail:
	free(t);
	errno = err;
	return NULL;
}

static struct timespec ms_to_ts(uint64_t ms)
{
	return (struct timespec){.tv_sec = (time_t)(ms / 1000),
	                         .tv_nsec = (long)(ms % 1000) * 1000000};
}

int loop_timer_arm(struct loop_timer *t, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = {.it_value = ms_to_ts(first_ms),
	                         .it_interval = ms_to_ts(interval_ms)};

	/* A zero it_value would disarm the timer: fire "now" instead. */
	if (first_ms == 0)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its = {0};

	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_del(t->loop, t->fd);
	close(t->fd);
	free(t);
}
