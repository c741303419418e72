/* op-hello.c: version negotiation and who the broker thinks you are. */

#include <string.h>

#include "batond.h"

static int
op_hello(struct request *r)
{
	struct body	 b;
	struct config	*cfg;
	char		*cause = NULL, agent[256];
	uint64_t	 version;
	int		 have_agent, dev;

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto fail;
	}
	version = b.has_version ? b.version : BATON_WIRE_VERSION;
	if (version < 1) {
		req_error(r, BATON_WIRE_EVERSION, "protocol version %llu is "
		    "not supported (1..%d)", (unsigned long long)version,
		    BATON_WIRE_VERSION);
		goto fail;
	}
	if (version > BATON_WIRE_VERSION)
		version = BATON_WIRE_VERSION;
	cfg = broker_config();
	have_agent = broker.src->agent_default(cfg, r->peer, agent,
	    sizeof agent) == 0;
	dev = cfg->agents == NULL;
	broker_config_release();

	req_begin(r);
	msgpack_pack_map(&r->pk, 10 + have_agent);
	baton_pack_str(&r->pk, "version");
	msgpack_pack_uint64(&r->pk, version);
	baton_pack_str(&r->pk, "server");
	baton_pack_str(&r->pk, "batond " PACKAGE_VERSION);
	baton_pack_str(&r->pk, "max_frame");
	msgpack_pack_uint32(&r->pk, BATON_WIRE_MAX_FRAME);
	baton_pack_str(&r->pk, "uid");
	msgpack_pack_uint32(&r->pk, (uint32_t)r->peer->uid);
	baton_pack_str(&r->pk, "gid");
	msgpack_pack_uint32(&r->pk, (uint32_t)r->peer->gid);
	baton_pack_str(&r->pk, "pid");
	msgpack_pack_uint32(&r->pk, (uint32_t)r->peer->pid);
	baton_pack_str(&r->pk, "dev_mode");
	baton_pack_bool(&r->pk, dev);
	/* What the broker saw: useful when an agents rule does not match. */
	baton_pack_str(&r->pk, "exe");
	baton_pack_str(&r->pk, r->peer->exe);
	baton_pack_str(&r->pk, "cgroup");
	baton_pack_str(&r->pk, r->peer->cgroup);
	baton_pack_str(&r->pk, "pinned");
	baton_pack_bool(&r->pk, r->peer->pinned);
	if (have_agent) {
		baton_pack_str(&r->pk, "agent");
		baton_pack_str(&r->pk, agent);
	}
	body_free(&b);
	return (0);
fail:
	free(cause);
	body_free(&b);
	return (-1);
}

const struct op_entry op_hello_entry = {
	BATON_OP_HELLO, "hello", 0, op_hello
};
