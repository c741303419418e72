/* arena.c: chunked bump allocator owning everything a decoded token holds. */

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/*
 * A decoded token is a few hundred small objects that all die together, so
 * they come from a bump allocator: one free for the lot, and no partial
 * cleanup paths in the decoder.  Chunks are chained; an allocation larger
 * than a chunk gets a chunk of its own.
 */

#define ARENA_CHUNK	4096
#define ARENA_ALIGN	(alignof(max_align_t))

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;	/* usable bytes after the header */
	size_t			 used;
	alignas(max_align_t) unsigned char data[];
};

struct baton_arena {
	struct arena_chunk	*head;	/* chunk being filled */
};

static struct arena_chunk *
arena_chunk_new(size_t size)
{
	struct arena_chunk	*c;

	if (size > SIZE_MAX - sizeof(*c))
		return (NULL);
	/* calloc: every allocation is handed out zeroed */
	if ((c = calloc(1, sizeof(*c) + size)) == NULL)
		return (NULL);
	c->size = size;
	return (c);
}

struct baton_arena *
baton_arena_new(void)
{
	return (calloc(1, sizeof(struct baton_arena)));
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
	if (c != NULL && c->size - c->used >= need) {
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
		if (a->head == NULL)
			a->head = c;
		else {
			c->next = a->head->next;
			a->head->next = c;
		}
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
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
