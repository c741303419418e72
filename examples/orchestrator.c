/*
 * orchestrator.c: the C API of libbaton-agent in one flow.  The orchestrator
 * mints a root token for db_query and file_read (1 h, 1000 rows, depth 5),
 * delegates db_query to worker A (30 min, 100 rows), A delegates to worker
 * B (15 min), B presents it for one call to the "db" tool server.  Prints
 * the inspect tree of B's token; with -o FILE also writes the presented
 * token there (mode 0600) for examples/toolserver.  Tokens never go to
 * stdout or a log.
 *
 * usage: orchestrator [-s SOCKET] [-o FILE]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <baton/agent.h>

static int
fail(const char *what, struct baton_client *c, int err)
{
	fprintf(stderr, "orchestrator: %s: %s%s%s\n", what,
	    baton_strerror(err), c && *baton_client_last_error(c) ? ": " : "",
	    c ? baton_client_last_error(c) : "");
	return 1;
}

static int
write_secret(const char *path, const char *token)
{
	int	fd;
	size_t	len = strlen(token);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
main(int argc, char **argv)
{
	struct baton_client_opts	 co = BATON_CLIENT_OPTS_INIT;
	struct baton_mint_opts		 mo = BATON_MINT_OPTS_INIT;
	struct baton_attenuate_opts	 ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_grantset		*root = NULL, *toa = NULL, *tob = NULL;
	struct baton_issued		*rt = NULL, *at = NULL, *bt = NULL;
	struct baton_issued		*pt = NULL;
	struct baton_inspect		*in = NULL;
	const char			*out = NULL;
	int				 ch, err, ret = 1;

	while ((ch = getopt(argc, argv, "s:o:")) != -1) {
		switch (ch) {
		case 's':
			co.socket_path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: orchestrator [-s SOCKET] "
			    "[-o FILE]\n");
			return 2;
		}
	}
	co.client_name = "orchestrator-example";
	if ((err = baton_client_open(&c, &co)) != 0)
		return fail("connect", NULL, err);

	/* root: db_query (read) and file_read for 1 h, at most 1000 rows */
	if ((err = baton_grantset_new(&root)) != 0 ||
	    (err = baton_grantset_add_tool(root, "db_query", "read")) != 0 ||
	    (err = baton_grantset_add_limit(root, "db_query", "max_rows",
	    1000)) != 0 ||
	    (err = baton_grantset_add_tool(root, "file_read", NULL)) != 0 ||
	    (err = baton_grantset_add_ctx(root, "workflow", "report-42")) != 0)
		goto fail;
	mo.grants = root;
	mo.as = "orchestrator";
	mo.subject = "alice";
	mo.ttl = 3600;
	mo.max_depth = 5;
	if ((err = baton_client_mint(&rt, c, &mo)) != 0) {
		ret = fail("mint", c, err);
		goto out;
	}

	/* worker A: db_query only, 30 min, 100 rows */
	if ((err = baton_grantset_new(&toa)) != 0 ||
	    (err = baton_grantset_add_tool(toa, "db_query", "read")) != 0 ||
	    (err = baton_grantset_add_limit(toa, "db_query", "max_rows",
	    100)) != 0)
		goto fail;
	ao.grants = toa;
	ao.as = "orchestrator";
	ao.ttl = 1800;
	ao.holder = "worker-a";
	if ((err = baton_client_attenuate(&at, c, baton_issued_token(rt),
	    &ao)) != 0) {
		ret = fail("attenuate for worker A", c, err);
		goto out;
	}

	/* worker B: from A, db_query for 15 min (limits inherited) */
	if ((err = baton_grantset_new(&tob)) != 0 ||
	    (err = baton_grantset_add_tool(tob, "db_query", "read")) != 0)
		goto fail;
	ao.grants = tob;
	ao.as = "worker-a";
	ao.ttl = 900;
	ao.holder = "worker-b";
	if ((err = baton_client_attenuate(&bt, c, baton_issued_token(at),
	    &ao)) != 0) {
		ret = fail("attenuate for worker B", c, err);
		goto out;
	}

	/* B presents it for one call to the "db" tool server */
	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	po.as = "worker-b";
	if ((err = baton_client_present(&pt, c, baton_issued_token(bt),
	    &po)) != 0) {
		ret = fail("present", c, err);
		goto out;
	}

	if ((err = baton_inspect_token(&in, baton_issued_token(pt), NULL)) != 0)
		goto fail;
	printf("root jti %s, worker A jti %s, worker B jti %s\n",
	    baton_issued_jti(rt), baton_issued_jti(at), baton_issued_jti(bt));
	fputs(baton_inspect_tree(in), stdout);
	if (out != NULL && write_secret(out, baton_issued_token(pt)) != 0) {
		perror(out);
		goto out;
	}
	ret = 0;
	goto out;
fail:
	ret = fail("setup", c, err);
out:
	baton_inspect_free(in);
	baton_issued_free(pt);
	baton_issued_free(bt);
	baton_issued_free(at);
	baton_issued_free(rt);
	baton_grantset_free(tob);
	baton_grantset_free(toa);
	baton_grantset_free(root);
	baton_client_free(c);
	return ret;
}
