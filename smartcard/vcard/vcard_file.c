/* SPDX-License-Identifier: MIT */
/* The virtual card's file: load, atomic save, init from PEM. */
#include "vcard.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"

#define SEC "card"
#define KEY_DER_MAX 512

static const char *const keys[] = {
	"format", "pin", "puk", "pin_retries", "puk_retries",
	"pin_tries_left", "puk_tries_left", "guid", "key", "cert", NULL,
};

static int get_secret(const struct kg_conf *c, const char *key,
		      uint8_t out[PIV_PIN_LEN], struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, SEC, key, NULL, &s, e);

	if (rc)
		return rc;
	if (piv_pin_pad(s, out)) {
		kg_err_set(e, "%s: %s must be 6 to 8 digits", c->path, key);
		return -EINVAL;
	}
	return 0;
}

static int get_hex_var(const struct kg_conf *c, const char *key,
		       uint8_t *out, size_t cap, size_t *n, struct kg_err *e)
{
	const char *s;
	size_t len;
	int rc = kg_conf_str(c, SEC, key, "", &s, e);

	if (rc)
		return rc;
	len = strlen(s);
	if (len % 2 || len / 2 > cap || kg_hex_decode(s, out, len / 2)) {
		kg_err_set(e, "%s: %s: expected hex DER of at most %zu bytes",
			   c->path, key, cap);
		return -EINVAL;
	}
	*n = len / 2;
	return 0;
}

static int get_counters(struct vcard *v, const struct kg_conf *c,
			struct kg_err *e)
{
	uint64_t a, b, x, y;
	int rc;

	if ((rc = kg_conf_uint(c, SEC, "pin_retries", false, 3, 1, 15, &a, e)) ||
	    (rc = kg_conf_uint(c, SEC, "puk_retries", false, 3, 1, 15, &b, e)) ||
	    (rc = kg_conf_uint(c, SEC, "pin_tries_left", false, a, 0, a, &x, e)) ||
	    (rc = kg_conf_uint(c, SEC, "puk_tries_left", false, b, 0, b, &y, e)))
		return rc;
	v->pin_retries = (unsigned)a, v->puk_retries = (unsigned)b;
	v->pin_left = (unsigned)x, v->puk_left = (unsigned)y;
	return 0;
}

static int parse(struct vcard *v, const struct kg_conf *c, struct kg_err *e)
{
	uint8_t der[KEY_DER_MAX];
	const uint8_t *p = der;
	uint64_t fmt;
	size_t n = 0;
	int rc;

	if ((rc = kg_conf_check_keys(c, SEC, keys, e)) ||
	    (rc = kg_conf_uint(c, SEC, "format", true, 1, 1, 1, &fmt, e)) ||
	    (rc = get_secret(c, "pin", v->pin, e)) ||
	    (rc = get_secret(c, "puk", v->puk, e)) ||
	    (rc = get_counters(v, c, e)) ||
	    (rc = kg_conf_hex(c, SEC, "guid", true, v->guid, 16, e)) ||
	    (rc = get_hex_var(c, "cert", v->cert, sizeof(v->cert),
			      &v->cert_len, e)) ||
	    (rc = get_hex_var(c, "key", der, sizeof(der), &n, e)))
		goto out;
	if (n) {
		v->key = d2i_AutoPrivateKey(NULL, &p, (long)n);
		if (!v->key || p != der + n) {
			kg_err_set(e, "%s: key: not a DER private key", c->path);
			rc = -EINVAL;
		}
	}
out:
	OPENSSL_cleanse(der, sizeof(der));
	return rc;
}

int vcard_load(struct vcard *v, const char *path, struct kg_err *e)
{
	struct kg_conf c;
	int rc;

	vcard_init(v);
	rc = kg_conf_load(&c, path, e);
	if (rc == 0)
		rc = parse(v, &c, e);
	if (rc)
		vcard_free(v);
	/* The conf held the PIN and key text: wipe before freeing. */
	for (size_t i = 0; i < c.n; i++)
		OPENSSL_cleanse(c.items[i].value, strlen(c.items[i].value));
	kg_conf_free(&c);
	return rc;
}

static void unpad(const uint8_t p[PIV_PIN_LEN], char out[PIV_PIN_LEN + 1])
{
	size_t i = 0;

	for (; i < PIV_PIN_LEN && p[i] != 0xff; i++)
		out[i] = (char)p[i];
	out[i] = 0;
}

/* Formats the file; *text is malloc'd and holds secrets. */
static int format(const struct vcard *v, char **text, size_t *len)
{
	uint8_t *der = NULL;
	int dlen = v->key ? i2d_PrivateKey(v->key, &der) : 0;
	char pin[PIV_PIN_LEN + 1], puk[PIV_PIN_LEN + 1], guid[33];
	char *kh = NULL, *ch = NULL;
	int n = -1;

	if (dlen < 0 || dlen > KEY_DER_MAX)
		goto out;
	kh = malloc(2 * (size_t)dlen + 1);
	ch = malloc(2 * v->cert_len + 1);
	if (!kh || !ch)
		goto out;
	kg_hex_encode(der, (size_t)dlen, kh);
	kg_hex_encode(v->cert, v->cert_len, ch);
	kg_hex_encode(v->guid, 16, guid);
	unpad(v->pin, pin);
	unpad(v->puk, puk);
	n = asprintf(text,
		"# knockgate virtual PIV card (knockgate-vcard). Secret: mode 0600.\n"
		"[card]\nformat = 1\npin = %s\npuk = %s\n"
		"pin_retries = %u\npuk_retries = %u\n"
		"pin_tries_left = %u\npuk_tries_left = %u\n"
		"guid = %s\nkey = %s\ncert = %s\n",
		pin, puk, v->pin_retries, v->puk_retries, v->pin_left,
		v->puk_left, guid, kh, ch);
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(puk, sizeof(puk));
out:
	if (kh)
		OPENSSL_cleanse(kh, strlen(kh));
	free(kh);
	free(ch);
	if (der)
		OPENSSL_clear_free(der, (size_t)dlen);
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int vcard_save(const struct vcard *v, const char *path, struct kg_err *e)
{
	char tmp[4096];
	char *text = NULL;
	size_t len = 0;
	int fd = -1, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	rc = format(v, &text, &len);
	if (rc)
		goto out;
	fd = mkstemp(tmp);   /* mode 0600 */
	if (fd < 0) {
		rc = -errno;
		kg_err_set(e, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	rc = write_all(fd, text, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		kg_err_set(e, "%s: cannot write: %s", path, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	sync_dir(path);
out:
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc;
}

static int is_p256(EVP_PKEY *k)
{
	char name[64];

	return EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
	       EVP_PKEY_get_group_name(k, name, sizeof(name), NULL) == 1 &&
	       !strcmp(name, "prime256v1");
}

int vcard_set_key_cert(struct vcard *v, const char *key_pem,
		       const char *cert_pem, struct kg_err *e)
{
	FILE *kf = fopen(key_pem, "r"), *cf = fopen(cert_pem, "r");
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	uint8_t *p;
	int n, rc = -EINVAL;

	if (!kf || !cf) {
		rc = -errno;
		kg_err_set(e, "%s: %s", kf ? cert_pem : key_pem, strerror(errno));
		goto out;
	}
	key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	x = PEM_read_X509(cf, NULL, NULL, NULL);
	if (!key || !is_p256(key)) {
		kg_err_set(e, "%s: not an EC P-256 private key (PEM)", key_pem);
		goto out;
	}
	if (!x || X509_check_private_key(x, key) != 1) {
		kg_err_set(e, "%s: not a PEM certificate for that key", cert_pem);
		goto out;
	}
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > sizeof(v->cert)) {
		kg_err_set(e, "%s: certificate larger than %zu bytes", cert_pem,
			   sizeof(v->cert));
		goto out;
	}
	p = v->cert;
	v->cert_len = (size_t)i2d_X509(x, &p);
	EVP_PKEY_free(v->key);
	v->key = key;
	key = NULL;
	rc = 0;
out:
	if (kf)
		fclose(kf);
	if (cf)
		fclose(cf);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}
