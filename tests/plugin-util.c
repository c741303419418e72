/* plugin-util.c: module directories and stack files for the plugin tests. */

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-util.h"

#ifndef PLUGINS_LIBDIR
#define PLUGINS_LIBDIR		"plugins/.libs"
#endif
#ifndef TEST_MODULES_LIBDIR
#define TEST_MODULES_LIBDIR	"tests/modules/.libs"
#endif

void
pu_tmpdir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/baton-plugins.XXXXXX");
	if (mkdtemp(out) == NULL)
		abort();
	chmod(out, 0755);
}

static void
copy_file(const char *from, const char *to)
{
	FILE	*in, *o;
	char	 buf[65536];
	size_t	 n;

	if ((in = fopen(from, "rb")) == NULL || (o = fopen(to, "wb")) == NULL)
		abort();
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, o) != n)
			abort();
	fclose(in);
	if (fclose(o) != 0)
		abort();
	chmod(to, 0755);
}

static void
copy_modules(const char *from, const char *to)
{
	DIR		*d;
	struct dirent	*de;
	char		 a[1024], b[1024];
	size_t		 n;

	if ((d = opendir(from)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 3, ".so") != 0)
			continue;
		snprintf(a, sizeof a, "%s/%s", from, de->d_name);
		snprintf(b, sizeof b, "%s/%s", to, de->d_name);
		copy_file(a, b);
	}
	closedir(d);
}

void
pu_moddir(char *out, size_t len)
{
	pu_tmpdir(out, len);
	copy_modules(PLUGINS_LIBDIR, out);
	copy_modules(TEST_MODULES_LIBDIR, out);
}

void
pu_write(const char *dir, const char *name, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	if (fclose(f) != 0)
		abort();
	chmod(path, 0644);
}

void
pu_mkdir(const char *dir, const char *name)
{
	char	path[1024];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (mkdir(path, 0755) != 0)
		abort();
}

void
pu_rmrf(const char *path)
{
	char	cmd[1200];

	if (getenv("BATON_TEST_KEEP") != NULL)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

char *
pu_slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if ((buf = malloc((size_t)n + 1)) == NULL)
		abort();
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = '\0';
	fclose(f);
	return (buf);
}
