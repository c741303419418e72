/* grantset.h: the inside of struct baton_grantset, for libbaton-agent. */
#ifndef BATON_GRANTSET_H
#define BATON_GRANTSET_H

#include <stdint.h>

#include <msgpack.h>

#include "common.h"

/*
 * Predicates are the common structs so that baton_wire_pack_pred packs
 * them; their strings (vals[].s) are malloc'd and owned by the set.
 */
struct gs_where {
	char			*arg;
	struct baton_pred	 pred;
};

struct gs_limit {
	char			*name;
	uint64_t		 max;
};

struct gs_tool {
	char			*tool;
	int			 any_action;	/* asked for with no actions */
	char			**actions;
	size_t			 nactions;
	struct gs_limit		*limits;
	size_t			 nlimits;
	struct gs_where		*where;
	size_t			 nwhere;
};

struct gs_ctx {
	char			*key;
	char			*value;
};

struct baton_grantset {
	int			 wildcard;
	struct gs_tool		*tools;
	size_t			 ntools;
	char			**aud;
	size_t			 naud;
	struct gs_ctx		*ctx;
	size_t			 nctx;
};

int	gs_parse_value(struct baton_value *, const char *, size_t);
int	gs_parse_pred(struct baton_pred *, const char *);
int	gs_pack_grants(msgpack_packer *, const struct baton_grantset *);
void	gs_pack_aud(msgpack_packer *, const struct baton_grantset *);
void	gs_pack_ctx(msgpack_packer *, const struct baton_grantset *);

#endif /* BATON_GRANTSET_H */
