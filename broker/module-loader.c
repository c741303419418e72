/*
 * module-loader.c: find, check and load modules (baton-module(3)).
 *
 * Bare names only, from the one directory fixed at configure time; the
 * directory and the file must be owned by root or the broker's user and
 * not group- or world-writable; the file is opened without following a
 * link and loaded through its descriptor, so what was checked is what is
 * mapped.  Before anything in it runs the ELF dynamic symbol table must
 * export nothing but the entry symbol; then magic, ABI and size.  Loaded
 * objects are never dlclose'd (a module's code may still be on a stack a
 * request is running), and a failed dlopen leaves nothing callable.
 *
 * Only a test build (-DBATOND_TEST_BUILD) reads BATON_TEST_MODULE_DIR;
 * the installed batond has no way to load from anywhere else.
 */

#include <sys/stat.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"

#ifndef BATOND_MODULE_DIR
#define BATOND_MODULE_DIR	"/usr/lib/baton/modules"
#endif
#define MODULE_NAME_MAX		64
#define MODULE_FILE_MAX		(64 * 1024 * 1024)

struct loaded {
	struct loaded		*next;
	char			 name[MODULE_NAME_MAX + 1];
	struct module		 mod;
};

/* Every object ever mapped, by file identity (see load_file). */
struct mapped {
	struct mapped		*next;
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 ctim;	/* a recycled inode is another file */
	void			*handle;
};

static pthread_mutex_t	 loaded_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loaded	*loaded_list;
static struct mapped	*mapped_list;

const char *
module_dir(void)
{
#ifdef BATOND_TEST_BUILD
	const char	*d;

	if ((d = getenv("BATON_TEST_MODULE_DIR")) != NULL && *d == '/')
		return (d);
#endif
	return (BATOND_MODULE_DIR);
}

/* [A-Za-z0-9_-], not empty, not too long: no '/', no "..", no ".so". */
int
module_name_ok(const char *name)
{
	size_t	i, len = strlen(name);

	if (len == 0 || len > MODULE_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '-'))
			return (0);
	}
	return (1);
}

static int
owner_ok(const struct stat *st)
{
	return ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & 022) == 0);
}

static int
pread_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t	n;
	size_t	done = 0;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
		    off + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		done += (size_t)n;
	}
	return (0);
}

/*
 * Read the dynamic symbol table (SHT_DYNSYM) of a 64-bit ELF file and
 * insist that exactly one defined, global, default-visibility symbol is
 * there: the entry.  Returns 0, or -1 with *cause.
 */
static int
check_exports(int fd, off_t fsize, const char *path, char **cause)
{
	Elf64_Ehdr	 eh;
	Elf64_Shdr	*sh = NULL, *sym = NULL, *str;
	Elf64_Sym	 s;
	char		*strtab = NULL;
	size_t		 i, n, found = 0;
	int		 rc = -1;

	if (pread_all(fd, &eh, sizeof eh, 0) != 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
	    eh.e_shnum > 4096 || eh.e_shoff > (uint64_t)fsize ||
	    (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) >
	    (uint64_t)fsize - eh.e_shoff) {
		xasprintf(cause, "%s: not a 64-bit ELF shared object", path);
		return (-1);
	}
	sh = xcalloc(eh.e_shnum, sizeof *sh);
	if (pread_all(fd, sh, eh.e_shnum * sizeof *sh, (off_t)eh.e_shoff) != 0)
		goto bad;
	for (i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			sym = &sh[i];
	if (sym == NULL || sym->sh_link >= eh.e_shnum ||
	    sym->sh_entsize != sizeof(Elf64_Sym))
		goto bad;
	str = &sh[sym->sh_link];
	if (str->sh_size == 0 || str->sh_size > (uint64_t)fsize ||
	    str->sh_offset > (uint64_t)fsize - str->sh_size ||
	    sym->sh_size > (uint64_t)fsize ||
	    sym->sh_offset > (uint64_t)fsize - sym->sh_size)
		goto bad;
	strtab = xmalloc(str->sh_size + 1);
	if (pread_all(fd, strtab, str->sh_size, (off_t)str->sh_offset) != 0)
		goto bad;
	strtab[str->sh_size] = '\0';
	n = sym->sh_size / sizeof s;
	for (i = 1; i < n; i++) {
		if (pread_all(fd, &s, sizeof s, (off_t)(sym->sh_offset +
		    i * sizeof s)) != 0 || s.st_name >= str->sh_size)
			goto bad;
		if (s.st_shndx == SHN_UNDEF ||
		    ELF64_ST_BIND(s.st_info) == STB_LOCAL ||
		    ELF64_ST_VISIBILITY(s.st_other) != STV_DEFAULT)
			continue;
		/* A named version node shows up as an absolute symbol. */
		if (s.st_shndx == SHN_ABS && s.st_value == 0 &&
		    ELF64_ST_TYPE(s.st_info) == STT_OBJECT && s.st_size == 0)
			continue;
		if (strcmp(strtab + s.st_name, BATON_MODULE_ENTRY) == 0) {
			found++;
			continue;
		}
		xasprintf(cause, "%s: exports \"%.64s\": a module exports "
		    "only %s (use a version script)", path,
		    strtab + s.st_name, BATON_MODULE_ENTRY);
		goto out;
	}
	if (found != 1) {
		xasprintf(cause, "%s: does not export %s", path,
		    BATON_MODULE_ENTRY);
		goto out;
	}
	rc = 0;
	goto out;
bad:
	xasprintf(cause, "%s: unreadable ELF symbol table", path);
out:
	free(strtab);
	free(sh);
	return (rc);
}

/* Check the descriptor and copy what this broker understands. */
static int
check_descriptor(const struct baton_module *m, const char *path,
    struct module *out, char **cause)
{
	if (m == NULL) {
		xasprintf(cause, "%s: %s returned NULL", path,
		    BATON_MODULE_ENTRY);
		return (-1);
	}
	if (m->magic != BATON_MODULE_MAGIC) {
		xasprintf(cause, "%s: bad magic 0x%08x", path,
		    (unsigned)m->magic);
		return (-1);
	}
	if (m->abi != BATON_MODULE_ABI) {
		xasprintf(cause, "%s: module ABI %u, this broker speaks %d",
		    path, (unsigned)m->abi, BATON_MODULE_ABI);
		return (-1);
	}
	/*
	 * A newer, longer descriptor is fine: we read our prefix of it.  An
	 * older one, built before the optional hooks at the end were added,
	 * is too: what it lacks stays NULL.
	 */
	if (m->size < BATON_MODULE_SIZE_1 || m->size > 65536) {
		xasprintf(cause, "%s: descriptor size %u, expected at least "
		    "%zu", path, (unsigned)m->size, BATON_MODULE_SIZE_1);
		return (-1);
	}
	memset(out, 0, sizeof *out);
	memcpy(&out->desc, m, m->size < sizeof *m ? m->size : sizeof *m);
	if (out->desc.init == NULL) {
		xasprintf(cause, "%s: no init hook", path);
		return (-1);
	}
	return (0);
}

static int
load_file(const char *name, struct module *out, char **cause)
{
	const struct baton_module	*m;
	baton_module_entry_fn		 entry;
	struct stat			 st;
	struct mapped			*mp;
	char				 path[PATH_MAX], fdpath[64];
	const char			*dir = module_dir();
	void				*h;
	int				 dfd = -1, fd = -1, rc = -1, keep = 0;

	snprintf(path, sizeof path, "%s/%s.so", dir, name);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (fstat(dfd, &st) != 0 || !owner_ok(&st)) {
		xasprintf(cause, "%s: module directory must be owned by root "
		    "or uid %u and not group- or world-writable", dir,
		    (unsigned)geteuid());
		goto out;
	}
	snprintf(fdpath, sizeof fdpath, "%s.so", name);
	fd = openat(dfd, fdpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1) {
		if (errno == ELOOP)
			xasprintf(cause, "%s: is a symbolic link", path);
		else
			xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto out;
	}
	if (!owner_ok(&st)) {
		xasprintf(cause, "%s: must be owned by root or uid %u and not "
		    "group- or world-writable", path, (unsigned)geteuid());
		goto out;
	}
	if (st.st_size > MODULE_FILE_MAX) {
		xasprintf(cause, "%s: file too large", path);
		goto out;
	}
	if (check_exports(fd, st.st_size, path, cause) != 0)
		goto out;
	/*
	 * Map what we checked: through the descriptor, not the path.  The
	 * dynamic linker then knows the object by the name "/proc/self/fd/N"
	 * and would hand it back for any later file opened on a reused N: so
	 * the descriptor of a mapped object stays open for good (objects are
	 * never unloaded), and a file mapped before, refused or not, is
	 * found here by its identity rather than mapped again.
	 */
	for (mp = mapped_list; mp != NULL; mp = mp->next)
		if (mp->dev == st.st_dev && mp->ino == st.st_ino &&
		    mp->size == st.st_size &&
		    mp->ctim.tv_sec == st.st_ctim.tv_sec &&
		    mp->ctim.tv_nsec == st.st_ctim.tv_nsec)
			break;
	if (mp != NULL)
		h = mp->handle;
	else {
		snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
		if ((h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			xasprintf(cause, "%s: %s", path, dlerror());
			goto out;
		}
		mp = xcalloc(1, sizeof *mp);
		mp->dev = st.st_dev;
		mp->ino = st.st_ino;
		mp->size = st.st_size;
		mp->ctim = st.st_ctim;
		mp->handle = h;
		mp->next = mapped_list;
		mapped_list = mp;
		keep = 1;
	}
	*(void **)(&entry) = dlsym(h, BATON_MODULE_ENTRY);
	if (entry == NULL) {
		xasprintf(cause, "%s: no %s", path, BATON_MODULE_ENTRY);
		goto out;
	}
	m = entry();
	if (check_descriptor(m, path, out, cause) != 0)
		goto out;
	rc = 0;
out:
	if (fd != -1 && !keep)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return (rc);
}

/*
 * Under the seccomp filter (sandbox.c) a module that spawns a program
 * could neither fork nor exec, and its program would inherit the filter:
 * refuse it when the stack loads, with a reason, rather than let the
 * first decision kill the broker.  Set before each load, under the
 * reload lock.
 */
static int	forbid_spawn;

void
module_forbid_spawn(int on)
{
	forbid_spawn = on;
}

/* The module called name, loaded once and kept; NULL with *cause. */
const struct module *
module_load(const char *name, char **cause)
{
	struct loaded	*l;

	if (!module_name_ok(name)) {
		xasprintf(cause, "bad module name \"%.64s\": a bare name of "
		    "letters, digits, '-' and '_'", name);
		return (NULL);
	}
	if (forbid_spawn && strcmp(name, "exec") == 0) {
		xasprintf(cause, "exec spawns programs, which the seccomp "
		    "filter forbids: drop it, or set \"seccomp no\" in "
		    "baton.conf");
		return (NULL);
	}
	pthread_mutex_lock(&loaded_lock);
	for (l = loaded_list; l != NULL; l = l->next)
		if (strcmp(l->name, name) == 0)
			break;
	if (l == NULL) {
		l = xcalloc(1, sizeof *l);
		snprintf(l->name, sizeof l->name, "%s", name);
		if (load_file(name, &l->mod, cause) != 0) {
			free(l);
			l = NULL;
		} else {
			l->mod.name = l->name;
			l->next = loaded_list;
			loaded_list = l;
		}
	}
	pthread_mutex_unlock(&loaded_lock);
	return (l != NULL ? &l->mod : NULL);
}
