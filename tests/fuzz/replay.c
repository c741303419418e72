/* replay.c: feeds each file of a corpus to a fuzz target, without libFuzzer. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/*
 * Built with gcc in the normal build, once per target, so make check
 * replays each seed corpus (and every crash reproducer kept in it) as a
 * test.  With arguments, replays those files and directories instead:
 *
 *	tests/fuzz/replay_token [FILE | DIR ...]
 */

#ifndef FUZZ_CORPUS
#error "define FUZZ_CORPUS, the default corpus directory"
#endif

#define REPLAY_MAX	(1024 * 1024)

static size_t	nfiles;

static int
replay_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf, *exact = NULL;
	size_t	 len;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if ((buf = malloc(REPLAY_MAX)) == NULL) {
		fclose(f);
		return (-1);
	}
	len = fread(buf, 1, REPLAY_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "replay: %s: unreadable or too large\n", path);
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);
	/* an exact-size copy, so ASan sees reads past the input */
	if (len > 0 && (exact = malloc(len)) == NULL) {
		free(buf);
		return (-1);
	}
	if (len > 0)
		memcpy(exact, buf, len);
	free(buf);
	/* like libFuzzer, never a NULL pointer, even for empty input */
	LLVMFuzzerTestOneInput(exact != NULL ? exact : (const uint8_t *)"",
	    len);
	free(exact);
	nfiles++;
	return (0);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

static int
replay_path(const char *path)
{
	struct stat	  st;
	struct dirent	**ents;
	char		 *p;
	int		  i, n, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode))
		return (replay_file(path));
	if ((n = scandir(path, &ents, NULL, by_name)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			if ((p = malloc(strlen(path) +
			    strlen(ents[i]->d_name) + 2)) == NULL)
				rc = -1;
			else {
				sprintf(p, "%s/%s", path, ents[i]->d_name);
				if (replay_file(p) != 0)
					rc = -1;
				free(p);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return (rc);
}

int
main(int argc, char **argv)
{
	int	i, rc = 0;

	if (argc < 2)
		rc = replay_path(FUZZ_CORPUS);
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			rc = -1;
	if (rc != 0)
		return (1);
	if (nfiles == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return (99);	/* a hard error: the corpus went missing */
	}
	printf("replayed %zu inputs\n", nfiles);
	return (0);
}
