/* op-pubkeys.c: the public keys others need to verify offline. */

#include "batond.h"

static int
op_pubkeys(struct request *r)
{
	const struct baton_keyring	*ring;
	const struct baton_key		*k;
	size_t				 i;

	ring = keystore_lock();
	req_begin(r);
	msgpack_pack_map(&r->pk, 1);
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
