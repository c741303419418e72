/*
 * toolserver.c: a tool server's side of baton with libbaton-verify.  It
 * reads a presented token from stdin, asks the broker whether it allows
 * db_query/read for the audience "db", and serves at most the token's
 * effective max_rows, whatever the caller asked for.
 *
 * usage: toolserver [-s SOCKET] [-n ROWS]   (token on stdin)
 * exit 0 served, 1 denied, 2 error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <baton/verify.h>

#define DEFAULT_MAX_ROWS 10	/* when a token sets no limit */

int
main(int argc, char **argv)
{
	struct baton_client_opts	 co = BATON_CLIENT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_verify_result	*res = NULL;
	char				 token[90000];
	uint64_t			 asked = 500, max_rows;
	size_t				 n;
	int				 ch, err, ret = 2;

	while ((ch = getopt(argc, argv, "s:n:")) != -1) {
		switch (ch) {
		case 's':
			co.socket_path = optarg;
			break;
		case 'n':
			asked = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: toolserver [-s SOCKET] "
			    "[-n ROWS] < token\n");
			return 2;
		}
	}
	n = fread(token, 1, sizeof(token) - 1, stdin);
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';

	co.client_name = "toolserver-example";
	if ((err = baton_client_open(&c, &co)) != 0) {
		fprintf(stderr, "toolserver: connect: %s\n",
		    baton_strerror(err));
		return 2;
	}
	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	err = baton_verify(&res, c, token, &vo);
	/* a token is a secret; a plain memset could be optimized away */
	explicit_bzero(token, sizeof(token));
	if (err == BATON_EDENIED) {
		printf("denied: %s\n", baton_verify_result_reason_name(res));
		ret = 1;
		goto out;
	}
	if (err != 0) {
		fprintf(stderr, "toolserver: verify: %s: %s\n",
		    baton_strerror(err), baton_client_last_error(c));
		goto out;
	}
	/* the token's limit wins over what the caller asked for */
	if (baton_verify_result_limit(res, "max_rows", &max_rows) != 0)
		max_rows = DEFAULT_MAX_ROWS;
	printf("allowed for %s (issuer %s, depth %llu)\n",
	    baton_verify_result_sub(res) ? baton_verify_result_sub(res) : "?",
	    baton_verify_result_iss(res) ? baton_verify_result_iss(res) : "?",
	    (unsigned long long)baton_verify_result_depth(res));
	printf("asked for %llu rows, serving %llu (max_rows %llu)\n",
	    (unsigned long long)asked,
	    (unsigned long long)(asked < max_rows ? asked : max_rows),
	    (unsigned long long)max_rows);
	ret = 0;
out:
	baton_verify_result_free(res);
	baton_client_free(c);
	return ret;
}
