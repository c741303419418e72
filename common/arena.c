/* arena.c: chunked bump allocator owning everything a decoded token holds. */

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

/*
 * A decoded token is a few hundred small objects that all die together, so
 * they come from a bump allocator: one free for the lot, and no partial
 * cleanup paths in the decoder.  Chunks are chained; an allocation larger
 * than a chunk gets a chunk of its own.  The arena's own header lives in
 * its first chunk.
 *
 * The broker makes two arenas per request (the body, the token), so
 * standard chunks are not returned to malloc but kept in a small cache per
 * thread: no lock, nothing shared between threads, and a forked child only
 * gets a copy of zeroes.  A chunk is all zero while cached: on release the
 * bytes it handed out (token text among them) are wiped, which costs what
 * was used rather than a calloc of the whole chunk.  The cache is freed
 * when its thread exits (a key destructor) and, for the thread that calls
 * exit, by the library destructor.
 */

#define ARENA_CHUNK	4096
#define ARENA_ALIGN	(alignof(max_align_t))
#define ARENA_CACHED	4	/* standard chunks kept per thread */

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;	/* usable bytes after the header */
	size_t			 used;
	alignas(max_align_t) unsigned char data[];
};

struct baton_arena {
	struct arena_chunk	*head;	/* chunk being filled */
};

#define ARENA_HDR \
	((sizeof(struct baton_arena) + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1))

static _Thread_local struct arena_chunk	*cache[ARENA_CACHED];
static _Thread_local size_t		 ncached;
static _Thread_local int		 cache_armed;	/* key set here */

static pthread_once_t	 cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 cache_key;
static atomic_int	 cache_state;	/* 0 unset, 1 key made, -1 off */

static void
cache_drain(void)
{
	while (ncached > 0)
		free(cache[--ncached]);
}

/* Thread exit: the value is only a marker that this thread has a cache. */
static void
cache_thread_exit(void *marker)
{
	(void)marker;
	cache_drain();
	cache_armed = 0;	/* a later release here sets the key again */
}

static void
cache_key_make(void)
{
	if (pthread_key_create(&cache_key, cache_thread_exit) == 0)
		atomic_store(&cache_state, 1);
	else
		atomic_store(&cache_state, -1);
}

/*
 * exit() runs no key destructors for the thread that calls it, and an
 * unloaded library must not leave a destructor behind: free this thread's
 * cache and stop caching.
 */
__attribute__((destructor)) static void
cache_fini(void)
{
	if (atomic_exchange(&cache_state, -1) == 1)
		(void)pthread_key_delete(cache_key);
	cache_drain();
}

/* May this thread keep chunks?  Arms the thread-exit destructor once. */
static int
cache_usable(void)
{
	if (cache_armed)
		return (atomic_load_explicit(&cache_state,
		    memory_order_relaxed) == 1);
	(void)pthread_once(&cache_once, cache_key_make);
	if (atomic_load(&cache_state) != 1)
		return (0);
	if (pthread_setspecific(cache_key, &cache_armed) != 0)
		return (0);
	cache_armed = 1;
	return (1);
}

static struct arena_chunk *
arena_chunk_new(size_t size)
{
	struct arena_chunk	*c;

	if (size == ARENA_CHUNK && ncached > 0) {
		c = cache[--ncached];
		cache[ncached] = NULL;
		return (c);	/* all zero past the header, used == 0 */
	}
	if (size > SIZE_MAX - sizeof(*c))
		return (NULL);
	/* calloc: every allocation is handed out zeroed */
	if ((c = calloc(1, sizeof(*c) + size)) == NULL)
		return (NULL);
	c->size = size;
	return (c);
}

/* Wipe what was handed out; keep a standard chunk if there is room. */
static void
arena_chunk_release(struct arena_chunk *c)
{
	sodium_memzero(c->data, c->used);
	c->used = 0;
	c->next = NULL;
	if (c->size == ARENA_CHUNK && ncached < ARENA_CACHED &&
	    cache_usable()) {
		cache[ncached++] = c;
		return;
	}
	free(c);
}

struct baton_arena *
baton_arena_new(void)
{
	struct arena_chunk	*c;
	struct baton_arena	*a;

	if ((c = arena_chunk_new(ARENA_CHUNK)) == NULL)
		return (NULL);
	a = (struct baton_arena *)(void *)c->data;
	c->used = ARENA_HDR;
	a->head = c;
	return (a);
}

void *
baton_arena_alloc(struct baton_arena *a, size_t size)
{
	struct arena_chunk	*c;
	size_t			 off, need;

	if (a == NULL)
		return (NULL);
	if (size == 0)
		size = 1;	/* distinct, valid pointers even for nothing */
	if (size > SIZE_MAX - ARENA_ALIGN)
		return (NULL);
	need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	c = a->head;
	if (c->size - c->used >= need) {
		off = c->used;
		c->used += need;
		return (c->data + off);
	}

	if (need > ARENA_CHUNK / 4) {
		/*
		 * Big objects get a private chunk linked behind the current
		 * one, so the current chunk's free space is not wasted.
		 */
		if ((c = arena_chunk_new(need)) == NULL)
			return (NULL);
		c->used = need;
		c->next = a->head->next;
		a->head->next = c;
		return (c->data);
	}

	if ((c = arena_chunk_new(ARENA_CHUNK)) == NULL)
		return (NULL);
	c->next = a->head;
	a->head = c;
	c->used = need;
	return (c->data);
}

char *
baton_arena_strndup(struct baton_arena *a, const char *s, size_t len)
{
	char	*p;

	if (s == NULL && len != 0)
		return (NULL);
	if (len == SIZE_MAX)
		return (NULL);
	if ((p = baton_arena_alloc(a, len + 1)) == NULL)
		return (NULL);
	if (len != 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

void
baton_arena_free(struct baton_arena *a)
{
	struct arena_chunk	*c, *next;

	if (a == NULL)
		return;
	/* a lives in one of the chunks: nothing is read from it after here */
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		arena_chunk_release(c);
	}
}

void
baton_arena_mark(struct baton_arena *a, struct baton_arena_mark *m)
{
	m->head = a->head;
	m->next = a->head->next;
	m->used = a->head->used;
}

/*
 * Chunks are pushed at the head, and big objects linked right behind the
 * head of their time: everything newer than the mark sits before the
 * marked chunk, or between it and the chunk that followed it then.
 */
void
baton_arena_rewind(struct baton_arena *a, const struct baton_arena_mark *m)
{
	struct arena_chunk	*c, *next, *mc = m->head;

	for (c = a->head; c != mc; c = next) {
		next = c->next;
		arena_chunk_release(c);
	}
	for (c = mc->next; c != m->next; c = next) {
		next = c->next;
		arena_chunk_release(c);
	}
	mc->next = m->next;
	sodium_memzero(mc->data + m->used, mc->used - m->used);
	mc->used = m->used;
	a->head = mc;
}

size_t
baton_arena_cached(void)
{
	return (ncached);
}
