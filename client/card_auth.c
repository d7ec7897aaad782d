/* SPDX-License-Identifier: MIT */
#include "card_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pin.h"

/* The user-facing sentence for a failed card step. */
static void explain(int rc, int tries, struct kg_err *e)
{
	switch (rc) {
	case -EHOSTDOWN:
		kg_err_set(e, "cannot reach the smart card service (is pcscd running?)");
		break;
	case -ENODEV:
		kg_err_set(e, "no card reader found");
		break;
	case -ENOMEDIUM:
		kg_err_set(e, "no card in the reader: insert your card");
		break;
	case -EPROTONOSUPPORT:
		kg_err_set(e, "the card in the reader is not a PIV card");
		break;
	case -ENOENT:
		kg_err_set(e, "the card holds no certificate (slot 9A)");
		break;
	case -EACCES:
		kg_err_set(e, "wrong PIN: %d tr%s left before the card blocks",
			   tries, tries == 1 ? "y" : "ies");
		break;
	case -EKEYREVOKED:
		kg_err_set(e, "the card's PIN is blocked: unblock it with the PUK "
			   "(your administrator)");
		break;
	default:
		break;   /* keep the card layer's own message */
	}
}

static int verify_pin(struct kg_card_auth *a, const char *pin_file,
		      struct kg_err *e)
{
	char pin[KG_PIN_MAX + 1];
	int verified = 0, rc;

	/* Blocked cards are reported without asking for a PIN. */
	rc = piv_card_pin_status(&a->card, &a->tries, &verified, e);
	if (rc)
		return rc;
	if (a->tries == 0)
		return -EKEYREVOKED;
	rc = kg_pin_get(pin_file, pin, sizeof(pin), e);
	if (rc == 0)
		rc = piv_card_verify_pin(&a->card, pin, &a->tries, e);
	kg_wipe(pin, sizeof(pin));
	if (rc == -EACCES && a->tries == 0)
		rc = -EKEYREVOKED;
	return rc;
}

int kg_card_auth_open(struct kg_card_auth *a, const char *reader,
		      const char *pin_file, struct kg_err *e)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = piv_card_open(&a->card, reader, e);
	if (rc)
		goto fail;
	a->open = true;
	rc = piv_card_read_cert(&a->card, &a->cert, &a->cert_len, e);
	if (rc)
		goto fail;
	rc = verify_pin(a, pin_file, e);
	if (rc)
		goto fail;
	return 0;
fail:
	explain(rc, a->tries, e);
	kg_card_auth_close(a);
	return rc;
}

#ifdef KG_TEST_HOOKS
/* Replays (or records) the first signature: a test of green's refusal
 * of a transcript signature from an earlier session. */
static int test_first_sig(struct kg_card_auth *a, const uint8_t digest[32],
			  uint8_t *sig, size_t *sig_len)
{
	FILE *f;
	int rc = 0;

	a->first_done = true;
	if (a->replay_path) {
		f = fopen(a->replay_path, "rbe");
		if (!f)
			return -errno;
		*sig_len = fread(sig, 1, PIV_SIG_MAX, f);
		fclose(f);
		return *sig_len ? 0 : -EIO;
	}
	rc = piv_card_sign(&a->card, digest, sig, sig_len, NULL);
	if (rc == 0 && a->record_path) {
		f = fopen(a->record_path, "wbe");
		if (!f)
			return -errno;
		if (fwrite(sig, 1, *sig_len, f) != *sig_len)
			rc = -EIO;
		if (fclose(f))
			rc = -EIO;
	}
	return rc;
}
#endif

int kg_card_sign(void *ctx, const uint8_t digest[32], uint8_t *sig,
		 size_t *sig_len)
{
	struct kg_card_auth *a = ctx;

	if (a->dead)
		return -ENOMEDIUM;
#ifdef KG_TEST_HOOKS
	if (!a->first_done && (a->replay_path || a->record_path))
		return test_first_sig(a, digest, sig, sig_len);
#endif
	return piv_card_sign(&a->card, digest, sig, sig_len, NULL);
}

int kg_card_removed(struct kg_card_auth *a, unsigned timeout_ms)
{
	return piv_card_wait_removed(&a->card, timeout_ms, NULL);
}

void kg_card_auth_close(struct kg_card_auth *a)
{
	if (a->open)
		piv_card_close(&a->card);
	a->open = false;
	free(a->cert);
	a->cert = NULL;
	a->cert_len = 0;
}
