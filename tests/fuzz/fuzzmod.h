/*
 * fuzzmod.h: the verifier modules linked into a fuzz target, a host for
 * them with a decision made up by the target, and scratch files.
 */
#ifndef BATON_FUZZMOD_H
#define BATON_FUZZMOD_H

#include <stddef.h>
#include <stdint.h>

#include <baton/module.h>

/*
 * A decision as a module sees it through fuzz_host: every host call
 * answers from these fields.
 */
struct fuzz_decision {
	enum baton_phase	  phase;
	const char		 *op, *service, *agent, *subject;
	const char		 *tool, *action, *audience;
	int			  wildcard;
	const char *const	 *tools;	/* granted, with their actions: */
	const char *const	**actions;	/* per tool, NULL: any action */
	const size_t		 *nactions;
	size_t			  ntools;
	const char		 *limit_name;	/* on every tool, or NULL */
	uint64_t		  limit_max;
	const char *const	 *aud;		/* NULL: not confined */
	size_t			  naud;
	uint64_t		  lifetime, ttl, depth, depth_left;
};

const struct baton_host *fuzz_host(void);

/*
 * The descriptor of the plugins/ module called name (policy, ratelimit,
 * time, exec, audit, permit, deny, and fuzzsrc, a lookup source), or
 * NULL.  exec's authorize is NULL (it would run the program the input
 * named), and audit's trails are confined to fuzz_dir(): its init sees
 * file=DIR/trailN whatever path the input named.
 */
const struct baton_module *fuzz_module(const char *name);
/* The module names above, in a fixed order, NULL-terminated. */
extern const char *const fuzz_module_names[];

/* A private scratch directory, made once and removed at exit. */
const char *fuzz_dir(void);
/* Write len bytes to dir/name (mode 0644, replacing it); 0 or -1. */
int	fuzz_write_file(const char *dir, const char *name, const void *,
	    size_t);

/* The renamed entries of the plugins (tests/fuzz/mod-*.c). */
const struct baton_module *fuzz_entry_policy(void);
const struct baton_module *fuzz_entry_ratelimit(void);
const struct baton_module *fuzz_entry_time(void);
const struct baton_module *fuzz_entry_exec(void);
const struct baton_module *fuzz_entry_audit(void);
const struct baton_module *fuzz_entry_permit(void);
const struct baton_module *fuzz_entry_deny(void);

#endif /* BATON_FUZZMOD_H */
