/*
 * seal.c: the sealed lineage of a call token (present --minimal).
 *
 * A call token shows a tool server one block; the chain it came from
 * travels inside it, encrypted so that only a broker holding the signing
 * key's seed can read it, and revocation of any ancestor still reaches it.
 *
 *   key   = BLAKE2b-256(key = seed, message = "baton/v1/seal")
 *   ad    = "baton/v1/seal" || kid || jti          (the call token's own)
 *   pt    = u8 n || chain hash c(n-1) of the parent ||
 *           n * (jti[16] || u64be exp || u8 single_use)
 *   seal  = nonce[24] || XChaCha20-Poly1305-IETF(key, nonce, pt, ad)
 *
 * A fresh random nonce each time, so two call tokens from one chain share
 * no bytes.  The associated data binds the seal to the call token's kid
 * and jti: a seal moved into another token does not open.
 */

#include <string.h>

#include <sodium.h>

#include "common.h"

static const char seal_domain[] = "baton/v1/seal";
#define SEAL_DLEN	(sizeof(seal_domain) - 1)
#define ENTRY_LEN	(BATON_JTI_LEN + 9)

static int
seal_key(uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
    const struct baton_key *k)
{
	const uint8_t	*seed;

	if (k == NULL || (seed = baton_key_seed(k)) == NULL)
		return (-1);
	crypto_generichash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	    (const uint8_t *)seal_domain, SEAL_DLEN, seed, BATON_SEED_LEN);
	return (0);
}

static void
seal_ad(uint8_t ad[SEAL_DLEN + BATON_KID_LEN + BATON_JTI_LEN],
    const struct baton_key *k, const uint8_t jti[BATON_JTI_LEN])
{
	memcpy(ad, seal_domain, SEAL_DLEN);
	memcpy(ad + SEAL_DLEN, k->kid, BATON_KID_LEN);
	memcpy(ad + SEAL_DLEN + BATON_KID_LEN, jti, BATON_JTI_LEN);
}

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

int
baton_lineage_seal(uint8_t *out, size_t outlen, const struct baton_key *k,
    const uint8_t jti[BATON_JTI_LEN], const struct baton_lineage *lin)
{
	uint8_t		 key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		 ad[SEAL_DLEN + BATON_KID_LEN + BATON_JTI_LEN];
	uint8_t		 pt[1 + BATON_HASH_LEN + BATON_MAX_BLOCKS * ENTRY_LEN];
	unsigned long long clen;
	size_t		 i, ptlen;
	uint8_t		*e;

	if (lin == NULL || jti == NULL || lin->n == 0 ||
	    lin->n > BATON_MAX_BLOCKS || outlen != BATON_SEAL_LEN(lin->n))
		return (BATON_EINVAL);
	if (seal_key(key, k) != 0)
		return (BATON_ENOKEY);
	pt[0] = (uint8_t)lin->n;
	memcpy(pt + 1, lin->chain, BATON_HASH_LEN);
	for (i = 0; i < lin->n; i++) {
		e = pt + 1 + BATON_HASH_LEN + i * ENTRY_LEN;
		memcpy(e, lin->jti[i], BATON_JTI_LEN);
		put64(e + BATON_JTI_LEN, lin->exp[i]);
		e[BATON_JTI_LEN + 8] = lin->single_use[i] ? 1 : 0;
	}
	ptlen = 1 + BATON_HASH_LEN + lin->n * ENTRY_LEN;
	seal_ad(ad, k, jti);
	randombytes_buf(out, BATON_SEAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + BATON_SEAL_NONCE_LEN,
	    &clen, pt, ptlen, ad, sizeof(ad), NULL, out, key);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pt, sizeof(pt));
	return (BATON_SEAL_NONCE_LEN + clen == outlen ? 0 : BATON_EINVAL);
}

enum baton_reason
baton_lineage_open(struct baton_lineage *lin, const struct baton_key *k,
    const uint8_t jti[BATON_JTI_LEN], const uint8_t *seal, size_t len)
{
	uint8_t		 key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		 ad[SEAL_DLEN + BATON_KID_LEN + BATON_JTI_LEN];
	uint8_t		 pt[1 + BATON_HASH_LEN + BATON_MAX_BLOCKS * ENTRY_LEN];
	unsigned long long ptlen;
	enum baton_reason why = BATON_R_BAD_SEAL;
	const uint8_t	*e;
	size_t		 i;

	memset(lin, 0, sizeof(*lin));
	if (seal == NULL || len < BATON_SEAL_LEN(1) ||
	    len > BATON_SEAL_LEN(BATON_MAX_BLOCKS))
		return (BATON_R_BAD_SEAL);
	/* a key without its seed (a federated broker's) cannot open it */
	if (seal_key(key, k) != 0)
		return (BATON_R_BAD_SEAL);
	seal_ad(ad, k, jti);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
	    seal + BATON_SEAL_NONCE_LEN, len - BATON_SEAL_NONCE_LEN, ad,
	    sizeof(ad), seal, key) != 0)
		goto out;
	/* authentic, so ours: still check the shape before trusting it */
	if (ptlen < 1 + BATON_HASH_LEN || pt[0] == 0 ||
	    pt[0] > BATON_MAX_BLOCKS ||
	    ptlen != 1 + BATON_HASH_LEN + (size_t)pt[0] * ENTRY_LEN)
		goto out;
	lin->n = pt[0];
	memcpy(lin->chain, pt + 1, BATON_HASH_LEN);
	for (i = 0; i < lin->n; i++) {
		e = pt + 1 + BATON_HASH_LEN + i * ENTRY_LEN;
		memcpy(lin->jti[i], e, BATON_JTI_LEN);
		lin->exp[i] = get64(e + BATON_JTI_LEN);
		if (e[BATON_JTI_LEN + 8] > 1)
			goto out;
		lin->single_use[i] = e[BATON_JTI_LEN + 8];
	}
	why = BATON_R_OK;
out:
	if (why != BATON_R_OK)
		memset(lin, 0, sizeof(*lin));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pt, sizeof(pt));
	return (why);
}
