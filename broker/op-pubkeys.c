/*
 * op-pubkeys.c: the public keys others need to verify offline, as a
 * bundle: another broker trusts it from its trusted-keys directory
 * (trust.c) until not_after, now plus bundle-validity, so a rotation here
 * reaches it by the next bundle at the latest.
 */

#include "batond.h"

static int
op_pubkeys(struct request *r)
{
	const struct baton_keyring	*ring;
	const struct baton_key		*k, *signer;
	struct config			*cfg;
	uint64_t			 now = clock_now(), validity;
	size_t				 i;

	cfg = broker_config();
	validity = cfg->bundle_validity;
	broker_config_release();
	ring = keystore_lock();
	signer = baton_keyring_signer(ring);
	req_begin(r);
	msgpack_pack_map(&r->pk, 3 + (signer != NULL));
	if (signer != NULL) {
		baton_pack_str(&r->pk, "kid");
		baton_pack_bin(&r->pk, signer->kid, BATON_KID_LEN);
	}
	baton_pack_str(&r->pk, "issued");
	msgpack_pack_uint64(&r->pk, now);
	baton_pack_str(&r->pk, "not_after");
	msgpack_pack_uint64(&r->pk, now + validity);
	baton_pack_str(&r->pk, "keys");
	msgpack_pack_array(&r->pk, ring->nkeys);
	for (i = 0; i < ring->nkeys; i++) {
		k = ring->keys[i];
		msgpack_pack_map(&r->pk, 4);
		baton_pack_str(&r->pk, "kid");
		baton_pack_bin(&r->pk, k->kid, BATON_KID_LEN);
		baton_pack_str(&r->pk, "pk");
		baton_pack_bin(&r->pk, k->pk, sizeof k->pk);
		baton_pack_str(&r->pk, "not_after");
		msgpack_pack_uint64(&r->pk, k->not_after);
		baton_pack_str(&r->pk, "signing");
		baton_pack_bool(&r->pk, i == ring->signer);
	}
	keystore_unlock();
	return (0);
}

const struct op_entry op_pubkeys_entry = {
	BATON_OP_PUBKEYS, "pubkeys", 0, op_pubkeys
};
