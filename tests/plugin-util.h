/* plugin-util.h: module directories and stack files for the plugin tests. */
#ifndef PLUGIN_UTIL_H
#define PLUGIN_UTIL_H

#include <stddef.h>

/*
 * A fresh 0755 directory under /tmp holding copies (never links) of every
 * module built in the tree: plugins/ and tests/modules/.
 */
void	pu_moddir(char *out, size_t len);
void	pu_tmpdir(char *out, size_t len);
void	pu_write(const char *dir, const char *name, const char *text);
void	pu_mkdir(const char *dir, const char *name);
void	pu_rmrf(const char *path);
/* The whole of a small file (malloc'd), or NULL. */
char	*pu_slurp(const char *path);

#endif
