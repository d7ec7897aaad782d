/* SPDX-License-Identifier: MIT */
#include "grant_record.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static struct {
	char service[KG_CTRL_MAX_NAME + 1];
	struct kg_addr addr;
	uint16_t port;
} rec[KG_GRANT_RECORD_MAX];
static size_t n_rec;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

int kg_grant_record_set(const char *service, const struct kg_ctrl_grant *g)
{
	size_t len = strlen(service), i;
	int rc = 0;

	if (len == 0 || len > KG_CTRL_MAX_NAME)
		return -EINVAL;
	pthread_mutex_lock(&mu);
	for (i = 0; i < n_rec && strcmp(rec[i].service, service); i++)
		;
	if (i == n_rec && n_rec == KG_GRANT_RECORD_MAX) {
		rc = -ENOSPC;
	} else {
		if (i == n_rec)
			memcpy(rec[n_rec++].service, service, len + 1);
		rec[i].addr = g->addr;
		rec[i].port = g->port;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int kg_grant_target(const char *service, struct kg_addr *addr, uint16_t *port)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_rec; i++)
		if (!strcmp(rec[i].service, service)) {
			*addr = rec[i].addr;
			*port = rec[i].port;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&mu);
	return rc;
}

void kg_grant_record_clear(void)
{
	pthread_mutex_lock(&mu);
	n_rec = 0;
	pthread_mutex_unlock(&mu);
}
