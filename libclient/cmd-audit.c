/*
 * cmd-audit.c: `baton audit-check FILE`: follow the hash chain of an audit
 * trail written by baton_audit(8).  Each line's "prev" must be the
 * BLAKE2b-256 of the line before it (all zeros for the first); exit 0
 * when the chain holds, 1 naming the first line that breaks it, 2 when
 * the file cannot be read.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cmd.h"

#define AUDIT_HASH_LEN	32

int
cmd_audit_check(int argc, char **argv)
{
	FILE		*f;
	json_t		*doc;
	json_error_t	 jerr;
	const char	*prev;
	char		*line = NULL, want[AUDIT_HASH_LEN * 2 + 1];
	uint8_t		 h[AUDIT_HASH_LEN];
	size_t		 cap = 0, len;
	ssize_t		 n;
	unsigned long	 lineno = 0;
	int		 rc = 0;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: baton audit-check FILE\n");
		return (0);
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: baton audit-check FILE\n");
		return (2);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "baton audit-check: libsodium cannot "
		    "initialise\n");
		return (2);
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "baton audit-check: %s: %s\n", argv[1],
		    strerror(errno));
		return (2);
	}
	memset(want, '0', AUDIT_HASH_LEN * 2);
	want[AUDIT_HASH_LEN * 2] = '\0';
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		len = (size_t)n;
		if (len == 0 || line[len - 1] != '\n') {
			fprintf(stderr, "%s:%lu: torn line (no newline)\n",
			    argv[1], lineno);
			rc = 1;
			break;
		}
		line[--len] = '\0';
		doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		prev = json_string_value(json_object_get(doc, "prev"));
		if (doc == NULL || prev == NULL) {
			fprintf(stderr, "%s:%lu: not an audit record\n",
			    argv[1], lineno);
			json_decref(doc);
			rc = 1;
			break;
		}
		if (strcmp(prev, want) != 0) {
			if (lineno == 1)
				fprintf(stderr, "%s:1: chain does not start "
				    "here (prev is not zero)\n", argv[1]);
			else
				fprintf(stderr, "%s:%lu: chain broken: prev "
				    "is not the hash of line %lu\n", argv[1],
				    lineno, lineno - 1);
			json_decref(doc);
			rc = 1;
			break;
		}
		json_decref(doc);
		crypto_generichash(h, sizeof h, (const uint8_t *)line, len,
		    NULL, 0);
		sodium_bin2hex(want, sizeof want, h, sizeof h);
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "baton audit-check: %s: read error\n", argv[1]);
		rc = 2;
	}
	if (rc == 0)
		printf("%s: %lu records, chain holds\n", argv[1], lineno);
	free(line);
	fclose(f);
	return (rc);
}
