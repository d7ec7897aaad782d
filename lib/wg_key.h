/* SPDX-License-Identifier: MIT */
/*
 * WireGuard private key files (`wg genkey`: one base64 key, maybe a
 * newline): the one loader, for green's interface and both ends of the
 * site link.
 */
#ifndef KG_LIB_WG_KEY_H
#define KG_LIB_WG_KEY_H

#include <stdint.h>

#include "err.h"

/* Reads the key at path into key (caller's buffer; wipe it with kg_wipe
 * after use; on an error it may hold garbage). Returns 0, -errno from
 * opening or reading the file, or -EINVAL if it is not one base64 key of
 * 32 bytes (e says which file and why). The file's bytes are wiped from
 * the stack before returning. */
int kg_key_file_read(const char *path, uint8_t key[32], struct kg_err *e);

#endif
