/* SPDX-License-Identifier: MIT */
/*
 * knockgate-vcard: a virtual PIV card for pcscd's vpcd reader driver.
 * vpcd listens; we connect and answer (framing in docs/smartcards.md).
 * Stopping the program (or SIGUSR1) pulls the card; SIGUSR2 puts it back;
 * if pcscd goes away we reconnect until it is back.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "vcard.h"
#include "vcard_io.h"

static volatile sig_atomic_t stop_flag, pulled_flag;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		pulled_flag = 1;
	else if (sig == SIGUSR2)
		pulled_flag = 0;
	else
		stop_flag = 1;
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: poll must wake up */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int should_leave(void)
{
	return stop_flag || pulled_flag;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate-vcard [run] --card FILE [--host H] [--port P]\n"
		"       knockgate-vcard init --card FILE --key KEY.pem --cert CERT.pem\n"
		"                       [--pin-file F] [--puk-file F] [--retries N] [--force]\n"
		"PIN/PUK for init: --pin-file/--puk-file (first line), else KG_CARD_PIN/\n"
		"KG_CARD_PUK, else random ones, printed once. See knockgate-vcard(1).\n");
}

static int run(const char *card, const char *host, const char *port)
{
	struct vcard *v = malloc(sizeof(*v));
	struct kg_err e = { "" };
	int rc, fd, logged = 0;

	if (!v)
		return 1;
	rc = vcard_load(v, card, &e);
	if (rc) {
		fprintf(stderr, "knockgate-vcard: %s\n", e.msg);
		free(v);
		return 1;
	}
	setup_signals();
	kg_log_event(KG_LOG_NOTICE, "vcard", "result", "started", "card", card,
		     "vpcd", host, "port", port);
	while (!stop_flag) {
		if (pulled_flag) {
			poll(NULL, 0, 100);
			continue;
		}
		fd = vcard_io_connect(host, port);
		if (fd < 0) {
			if (!logged++)
				kg_log_event(KG_LOG_INFO, "vcard", "result",
					     "waiting", "reason", strerror(-fd));
			poll(NULL, 0, 250);
			continue;
		}
		logged = 0;
		kg_log_event(KG_LOG_NOTICE, "vcard", "result", "inserted");
		rc = vcard_io_serve(fd, v, card, should_leave);
		close(fd);
		vcard_reset(v);
		kg_log_event(KG_LOG_NOTICE, "vcard", "result", "removed",
			     "reason", stop_flag ? "stopped" : pulled_flag ?
			     "pulled" : "reader_gone");
		if (rc == -EIO)
			break;   /* card file can no longer be written */
	}
	vcard_free(v);
	free(v);
	return rc == -EIO ? 1 : 0;
}

/* First line of a file, or the environment; else n random digits,
 * *made set: there is no default PIN, only a lab passes its own. */
static int read_secret(const char *file, const char *env, unsigned n,
		       char *out, size_t cap, bool *made)
{
	const char *s = env ? getenv(env) : NULL;
	uint8_t r[8];
	FILE *f;

	*made = false;
	if (file) {
		f = fopen(file, "r");
		if (!f || !fgets(out, (int)cap, f)) {
			if (f)
				fclose(f);
			return -ENOENT;
		}
		fclose(f);
		out[strcspn(out, "\r\n")] = 0;
		return 0;
	}
	if (s && *s) {
		snprintf(out, cap, "%s", s);
		return 0;
	}
	if (n >= cap || n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		out[i] = (char)('0' + r[i] % 10);   /* bias of 256 % 10: harmless */
	out[n] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	*made = true;
	return 0;
}

struct init_opts {
	const char *card, *key, *cert, *pin_file, *puk_file;
	unsigned retries;
	int force;
};

static int init_card(const struct init_opts *o)
{
	struct vcard *v = malloc(sizeof(*v));
	struct kg_err e = { "" };
	char pin[32], puk[32];
	bool pin_made, puk_made;
	int rc = 1;

	if (!v)
		return 1;
	vcard_init(v);
	if (!o->force && access(o->card, F_OK) == 0) {
		fprintf(stderr, "knockgate-vcard: %s exists (use --force)\n", o->card);
		goto out;
	}
	if (read_secret(o->pin_file, "KG_CARD_PIN", 6, pin, sizeof(pin), &pin_made) ||
	    read_secret(o->puk_file, "KG_CARD_PUK", 8, puk, sizeof(puk), &puk_made)) {
		fprintf(stderr, "knockgate-vcard: cannot read the PIN or PUK file\n");
		goto out;
	}
	if (piv_pin_pad(pin, v->pin) || piv_pin_pad(puk, v->puk)) {
		fprintf(stderr, "knockgate-vcard: PIN and PUK must be 6 to 8 digits\n");
		goto out;
	}
	v->pin_retries = v->pin_left = o->retries;
	if (RAND_bytes(v->guid, sizeof(v->guid)) != 1 ||
	    vcard_set_key_cert(v, o->key, o->cert, &e) ||
	    vcard_save(v, o->card, &e)) {
		fprintf(stderr, "knockgate-vcard: %s\n", e.msg[0] ? e.msg : "init failed");
		goto out;
	}
	printf("knockgate-vcard: wrote %s\n", o->card);
	if (pin_made)
		printf("PIN: %s (made for this card: give it to its user)\n", pin);
	if (puk_made)
		printf("PUK: %s (made for this card: keep it to unblock the PIN)\n", puk);
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(puk, sizeof(puk));
	vcard_free(v);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "card", 1, 0, 'c' }, { "host", 1, 0, 'H' }, { "port", 1, 0, 'p' },
		{ "key", 1, 0, 'k' }, { "cert", 1, 0, 'C' },
		{ "pin-file", 1, 0, 'P' }, { "puk-file", 1, 0, 'U' },
		{ "retries", 1, 0, 'r' }, { "force", 0, 0, 'f' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
	struct init_opts o = { .retries = 3 };
	const char *host = "127.0.0.1", *port = "35963";
	int init = 0, c;

	kg_log_init("knockgate-vcard", KG_LOG_INFO);
	if (argc > 1 && (!strcmp(argv[1], "init") || !strcmp(argv[1], "run"))) {
		init = !strcmp(argv[1], "init");
		argv++, argc--;
	}
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.card = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'k': o.key = optarg; break;
		case 'C': o.cert = optarg; break;
		case 'P': o.pin_file = optarg; break;
		case 'U': o.puk_file = optarg; break;
		case 'r': o.retries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': o.force = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.card || optind != argc || (init && (!o.key || !o.cert)) ||
	    o.retries < 1 || o.retries > 15) {
		usage(stderr);
		return 2;
	}
	umask(077);
	return init ? init_card(&o) : run(o.card, host, port);
}
