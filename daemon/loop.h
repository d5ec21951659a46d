/* A tiny epoll event loop where everything is an fd (timers are timerfds),
 * after Redis's ae. Only dvipad uses it. */
#ifndef DVIPA_DAEMON_LOOP_H
#define DVIPA_DAEMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(int fd, uint32_t events, void *data);
typedef void (*loop_timer_fn)(struct loop_timer *t, void *data);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN...). At most one watch per fd. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Safe to call from any callback, also for the fd being dispatched. */
int loop_del(struct loop *l, int fd);

/* Runs until loop_stop(); returns 0 or -errno of a failed epoll_wait. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);
/* Milliseconds of CLOCK_REALTIME (for displays). */
uint64_t loop_wall_ms(void);

/* A timer that fires first after first_ms, then every interval_ms (0: once). */
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_fn fn, void *data);
int loop_timer_arm(struct loop_timer *t, uint64_t first_ms, uint64_t interval_ms);
int loop_timer_disarm(struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

#endif
