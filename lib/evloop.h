/* SPDX-License-Identifier: MIT */
/*
 * A tiny event loop: epoll over file descriptors, signals (signalfd) and
 * periodic timers (timerfd). Single-threaded; callbacks run in the loop.
 * Daemons react to events (an NFLOG message, a signal); there is no
 * polling loop.
 */
#ifndef KG_EVLOOP_H
#define KG_EVLOOP_H

#include <stdint.h>

struct kg_evloop;

typedef void (*kg_ev_fd_cb)(void *ctx, int fd, uint32_t events);
typedef void (*kg_ev_signal_cb)(void *ctx, int signo);
typedef void (*kg_ev_timer_cb)(void *ctx);

/* *out owned by the caller (kg_evloop_free). 0 or -errno. */
int kg_evloop_new(struct kg_evloop **out);
/* Closes the loop's own fds (signalfd, timerfds), not the watched ones,
 * and restores the signal mask. */
void kg_evloop_free(struct kg_evloop *l);
/* Watches fd for EPOLLIN. The fd stays the caller's. 0 or -errno. */
int kg_evloop_add_fd(struct kg_evloop *l, int fd, kg_ev_fd_cb cb, void *ctx);
int kg_evloop_del_fd(struct kg_evloop *l, int fd);
/* Blocks sigs (so they arrive only through the loop) and calls cb for
 * each. Once per loop. 0 or -errno. */
int kg_evloop_add_signals(struct kg_evloop *l, const int *sigs, int n,
			  kg_ev_signal_cb cb, void *ctx);
/* Calls cb every interval_ms. 0 or -errno (-ENOSPC: too many timers). */
int kg_evloop_add_timer(struct kg_evloop *l, unsigned interval_ms,
			kg_ev_timer_cb cb, void *ctx);
/* Runs until kg_evloop_stop. 0, or -errno of epoll_wait. */
int kg_evloop_run(struct kg_evloop *l);
void kg_evloop_stop(struct kg_evloop *l);

#endif
