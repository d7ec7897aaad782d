/* SPDX-License-Identifier: MIT */
/*
 * The ban list as knockgate-ctl prints it ("bans"), the same on green and
 * red: text (SOURCE, LEFT in seconds) or JSON ({"bans":[{"source",
 * "left_s"}]}, an IPv6 ban's source with its /64).
 */
#ifndef KG_IPS_REPORT_H
#define KG_IPS_REPORT_H

#include <stdbool.h>

#include "ips.h"
#include "strbuf.h"

/* Appends ips's live bans to o (an empty list if ips is NULL); a failure
 * to append is o's (kg_sb_error). */
void kg_ips_report_bans(const struct kg_ips *ips, bool json, struct kg_sb *o);

#endif
