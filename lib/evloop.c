/* SPDX-License-Identifier: MIT */
#include "evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_WATCH 32

enum kind { W_FD, W_SIGNAL, W_TIMER };

struct watch {
	enum kind kind;
	int fd;
	void *cb;
	void *ctx;
};

struct kg_evloop {
	int ep;
	bool stop;
	sigset_t old_mask;
	bool masked;
	struct watch w[MAX_WATCH];
	int n;
};

int kg_evloop_new(struct kg_evloop **out)
{
	struct kg_evloop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	*out = l;
	return 0;
}

void kg_evloop_free(struct kg_evloop *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->w[i].kind != W_FD && l->w[i].fd >= 0)
			close(l->w[i].fd);
	if (l->masked)
		sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
	close(l->ep);
	free(l);
}

static int add(struct kg_evloop *l, enum kind k, int fd, void *cb, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct watch *w;

	if (l->n == MAX_WATCH)
		return -ENOSPC;
	w = &l->w[l->n];
	*w = (struct watch){ k, fd, cb, ctx };
	ev.data.ptr = w;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->n++;
	return 0;
}

int kg_evloop_add_fd(struct kg_evloop *l, int fd, kg_ev_fd_cb cb, void *ctx)
{
	return add(l, W_FD, fd, (void *)cb, ctx);
}

int kg_evloop_del_fd(struct kg_evloop *l, int fd)
{
	for (int i = 0; i < l->n; i++) {
		if (l->w[i].kind == W_FD && l->w[i].fd == fd) {
			epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
			/* Keep slots stable (epoll holds pointers): mark dead. */
			l->w[i].fd = -1;
			l->w[i].cb = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

int kg_evloop_add_signals(struct kg_evloop *l, const int *sigs, int n,
			  kg_ev_signal_cb cb, void *ctx)
{
	sigset_t set;
	int fd, r;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, l->masked ? NULL : &l->old_mask))
		return -errno;
	l->masked = true;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = add(l, W_SIGNAL, fd, (void *)cb, ctx);
	if (r)
		close(fd);
	return r;
}

int kg_evloop_add_timer(struct kg_evloop *l, unsigned interval_ms,
			kg_ev_timer_cb cb, void *ctx)
{
	struct itimerspec its = { 0 };
	int fd, r;

	if (!interval_ms)
		return -EINVAL;
	its.it_interval.tv_sec = interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		r = -errno;
		close(fd);
		return r;
	}
	r = add(l, W_TIMER, fd, (void *)cb, ctx);
	if (r)
		close(fd);
	return r;
}

static void fire(struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	uint64_t ticks;

	if (!w->cb)
		return;
	switch (w->kind) {
	case W_FD:
		((kg_ev_fd_cb)w->cb)(w->ctx, w->fd, events);
		break;
	case W_SIGNAL:
		while (read(w->fd, &si, sizeof(si)) == sizeof(si))
			((kg_ev_signal_cb)w->cb)(w->ctx, (int)si.ssi_signo);
		break;
	case W_TIMER:
		if (read(w->fd, &ticks, sizeof(ticks)) == sizeof(ticks))
			((kg_ev_timer_cb)w->cb)(w->ctx);
		break;
	}
}

int kg_evloop_run(struct kg_evloop *l)
{
	struct epoll_event ev[16];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->ep, ev, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !l->stop; i++)
			fire(ev[i].data.ptr, ev[i].events);
	}
	return 0;
}

void kg_evloop_stop(struct kg_evloop *l)
{
	l->stop = true;
}
