/* keys.c: Ed25519 keys with kid and MAC key, and the trusted keyring. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

/*
 * Secret layout in one sodium_malloc'd block (guard pages, canary, locked
 * memory, wiped by sodium_free): seed | Ed25519 sk | MAC key.  The block is
 * made read-only once filled, so a stray write faults instead of silently
 * changing a key.
 */
#define KEY_SEED_OFF	0
#define KEY_SK_OFF	(KEY_SEED_OFF + BATON_SEED_LEN)
#define KEY_MAC_OFF	(KEY_SK_OFF + crypto_sign_SECRETKEYBYTES)
#define KEY_SECRET_LEN	(KEY_MAC_OFF + 32)

static const char mac_domain[] = "baton/v1/mac";

static void
key_kid(uint8_t kid[BATON_KID_LEN], const uint8_t pk[32])
{
	uint8_t	h[32];

	crypto_generichash(h, sizeof(h), pk, 32, NULL, 0);
	memcpy(kid, h, BATON_KID_LEN);
}

int
baton_key_from_seed(struct baton_key **out, const uint8_t seed[BATON_SEED_LEN])
{
	struct baton_key	*k = NULL;
	uint8_t			*sec = NULL;
	int			 rc = BATON_ENOMEM;

	if (out == NULL || seed == NULL)
		return (BATON_EINVAL);
	*out = NULL;
	if (sodium_init() < 0) {
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto out;
	if ((sec = sodium_malloc(KEY_SECRET_LEN)) == NULL)
		goto out;
	memcpy(sec + KEY_SEED_OFF, seed, BATON_SEED_LEN);
	if (crypto_sign_seed_keypair(k->pk, sec + KEY_SK_OFF, seed) != 0) {
		rc = BATON_EINVAL;
		goto out;
	}
	/* MAC key: BLAKE2b-256 keyed with the seed, over the domain string */
	if (crypto_generichash(sec + KEY_MAC_OFF, 32,
	    (const unsigned char *)mac_domain, sizeof(mac_domain) - 1,
	    seed, BATON_SEED_LEN) != 0) {
		rc = BATON_EINVAL;
		goto out;
	}
	key_kid(k->kid, k->pk);
	(void)sodium_mprotect_readonly(sec);
	k->secret = sec;
	k->can_sign = 1;
	sec = NULL;
	*out = k;
	k = NULL;
	rc = 0;
out:
	if (sec != NULL)
		sodium_free(sec);
	free(k);
	return (rc);
}

int
baton_key_generate(struct baton_key **out)
{
	uint8_t	seed[BATON_SEED_LEN];
	int	rc;

	if (out == NULL)
		return (BATON_EINVAL);
	*out = NULL;
	if (sodium_init() < 0)
		return (BATON_EUNAVAIL);
	randombytes_buf(seed, sizeof(seed));
	rc = baton_key_from_seed(out, seed);
	sodium_memzero(seed, sizeof(seed));
	return (rc);
}

int
baton_key_from_public(struct baton_key **out, const uint8_t pk[32])
{
	struct baton_key	*k;

	if (out == NULL || pk == NULL)
		return (BATON_EINVAL);
	*out = NULL;
	if (sodium_init() < 0)
		return (BATON_EUNAVAIL);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return (BATON_ENOMEM);
	memcpy(k->pk, pk, sizeof(k->pk));
	key_kid(k->kid, k->pk);
	*out = k;
	return (0);
}

const uint8_t *
baton_key_seed(const struct baton_key *k)
{
	if (k == NULL || k->secret == NULL)
		return (NULL);
	return (k->secret + KEY_SEED_OFF);
}

const uint8_t *
baton_key_sk(const struct baton_key *k)
{
	if (k == NULL || k->secret == NULL)
		return (NULL);
	return (k->secret + KEY_SK_OFF);
}

const uint8_t *
baton_key_mac(const struct baton_key *k)
{
	if (k == NULL || k->secret == NULL)
		return (NULL);
	return (k->secret + KEY_MAC_OFF);
}

void
baton_key_free(struct baton_key *k)
{
	if (k == NULL)
		return;
	if (k->secret != NULL)
		sodium_free(k->secret);	/* makes it writable, then wipes */
	free(k);
}

void
baton_keyring_init(struct baton_keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
}

/*
 * Takes the key in every case: on error it is freed, so a caller never has
 * to decide who owns it.  The most recently added key that can sign
 * becomes the signer, which is what rotation wants.
 */
int
baton_keyring_add(struct baton_keyring *kr, struct baton_key *k)
{
	int	rc;

	if (kr == NULL || k == NULL) {
		rc = BATON_EINVAL;
		goto fail;
	}
	if (baton_keyring_find(kr, k->kid) != NULL) {
		rc = BATON_EINVAL;
		goto fail;
	}
	if (kr->nkeys >= BATON_KEYRING_MAX) {
		rc = BATON_ETOOBIG;
		goto fail;
	}
	if (k->can_sign)
		kr->signer = kr->nkeys;
	kr->keys[kr->nkeys++] = k;
	return (0);
fail:
	baton_key_free(k);
	return (rc);
}

const struct baton_key *
baton_keyring_find(const struct baton_keyring *kr,
    const uint8_t kid[BATON_KID_LEN])
{
	size_t	i;
	int	hops;

	if (kr == NULL || kid == NULL)
		return (NULL);
	/* a chain of two rings (own keys, then trusted ones); never a loop */
	for (hops = 0; kr != NULL && hops < 4; kr = kr->next, hops++) {
		for (i = 0; i < kr->nkeys; i++) {
			if (memcmp(kr->keys[i]->kid, kid, BATON_KID_LEN) == 0)
				return (kr->keys[i]);
		}
	}
	return (NULL);
}

const struct baton_key *
baton_keyring_signer(const struct baton_keyring *kr)
{
	if (kr == NULL || kr->signer >= kr->nkeys)
		return (NULL);
	if (!kr->keys[kr->signer]->can_sign)
		return (NULL);
	return (kr->keys[kr->signer]);
}

void
baton_keyring_clear(struct baton_keyring *kr)
{
	size_t	i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->nkeys; i++)
		baton_key_free(kr->keys[i]);
	baton_keyring_init(kr);
}
