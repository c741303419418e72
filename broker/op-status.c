/* op-status.c: counters and histograms, also as Prometheus text. */

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batond.h"

/* Which sources answer each database, in order, as sources.conf says. */
static void
pack_sources(msgpack_packer *pk)
{
	static const struct {
		const char		*name;
		enum baton_database	 db;
	} dbs[] = {
		{ "agents", BATON_DB_AGENTS },
		{ "revocation", BATON_DB_REVOCATION },
		{ "replay", BATON_DB_REPLAY },
	};
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c;
	size_t			 i, k;

	msgpack_pack_map(pk, sizeof dbs / sizeof dbs[0]);
	for (i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
		baton_pack_str(pk, dbs[i].name);
		if ((c = stacks_sources(ss, dbs[i].db)) == NULL) {
			msgpack_pack_array(pk, 1);
			baton_pack_str(pk, "files");
			continue;
		}
		msgpack_pack_array(pk, c->n);
		for (k = 0; k < c->n; k++)
			baton_pack_str(pk, c->items[k].mod != NULL ?
			    c->items[k].mod->name : "files");
	}
	stacks_release(ss);
}

/* What each module source says of itself: "db/source" -> {up, state}. */
static void
pack_health(msgpack_packer *pk)
{
	struct src_health	hs[SRC_HEALTH_MAX];
	char			key[96];
	size_t			i, n = sources_health(hs, SRC_HEALTH_MAX);

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof key, "%s/%s", hs[i].db, hs[i].source);
		baton_pack_str(pk, key);
		msgpack_pack_map(pk, 2);
		baton_pack_str(pk, "up");
		baton_pack_bool(pk, hs[i].up);
		baton_pack_str(pk, "state");
		baton_pack_str(pk, hs[i].text);
	}
}

static int
op_status(struct request *r)
{
	struct body	 b;
	struct config	*cfg;
	struct stat	 st;
	char		*cause = NULL, *text = NULL, *jpath, health[256];
	uint64_t	 jbytes;
	size_t		 revoked, spent;
	unsigned	 conns;
	int		 dev;

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		free(cause);
		body_free(&b);
		return (-1);
	}
	if (b.format != NULL) {
		if (strcmp(b.format, "prometheus") != 0) {
			req_error(r, BATON_WIRE_EBADREQ, "format: only "
			    "\"prometheus\" is known");
			body_free(&b);
			return (-1);
		}
		text = metrics_prometheus();
	}
	body_free(&b);
	journal_counts(&revoked, &spent);
	(void)journal_health(health, sizeof health);
	pthread_mutex_lock(&broker.conns_lock);
	conns = broker.nconns;
	pthread_mutex_unlock(&broker.conns_lock);
	cfg = broker_config();
	dev = cfg->agents == NULL;
	xasprintf(&jpath, "%s/journal", cfg->state_dir);
	broker_config_release();
	jbytes = stat(jpath, &st) == 0 ? (uint64_t)st.st_size : 0;
	free(jpath);

	req_begin(r);
	msgpack_pack_map(&r->pk, 14 + (text != NULL));
	baton_pack_str(&r->pk, "version");
	baton_pack_str(&r->pk, PACKAGE_VERSION);
	baton_pack_str(&r->pk, "uptime");
	msgpack_pack_uint64(&r->pk, (uint64_t)(time(NULL) - broker.started));
	baton_pack_str(&r->pk, "connections");
	msgpack_pack_uint32(&r->pk, conns);
	baton_pack_str(&r->pk, "revoked");
	msgpack_pack_uint64(&r->pk, revoked);
	baton_pack_str(&r->pk, "spent");
	msgpack_pack_uint64(&r->pk, spent);
	baton_pack_str(&r->pk, "dev_mode");
	baton_pack_bool(&r->pk, dev);
	baton_pack_str(&r->pk, "journal_bytes");
	msgpack_pack_uint64(&r->pk, jbytes);
	baton_pack_str(&r->pk, "journal");
	baton_pack_str(&r->pk, health);
	baton_pack_str(&r->pk, "clock_behind");
	msgpack_pack_uint64(&r->pk, clock_behind());
	baton_pack_str(&r->pk, "sources");
	pack_sources(&r->pk);
	baton_pack_str(&r->pk, "source_health");
	pack_health(&r->pk);
	baton_pack_str(&r->pk, "keys");
	keystore_pack(&r->pk);
	baton_pack_str(&r->pk, "counters");
	metrics_pack(&r->pk);
	baton_pack_str(&r->pk, "histograms");
	metrics_pack_histograms(&r->pk);
	if (text != NULL) {
		baton_pack_str(&r->pk, "text");
		baton_pack_str(&r->pk, text);
		free(text);
	}
	return (0);
}

const struct op_entry op_status_entry = {
	BATON_OP_STATUS, "status", 0, op_status
};
