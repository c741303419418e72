/* grant.c: chain rules: effective grant, request evaluation, attenuation. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/*
 * Everything here is a pure function of the token, the request and the
 * injected clock, so the broker and offline verifiers reach the same
 * decision.  Result arrays live in the token's arena.  When the arena cannot
 * give memory there is no reason that fits; we fail closed with
 * BATON_R_UNAVAILABLE rather than allow anything.
 */

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	/* a token with exp near UINT64_MAX must not wrap into the past */
	return (a > UINT64_MAX - b ? UINT64_MAX : a + b);
}

static int
str_eq(const char *a, const char *b)
{
	return (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
str_in(const char *s, const char **set, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (str_eq(s, set[i]))
			return (1);
	}
	return (0);
}

static void *
arena_array(const struct baton_token *tok, size_t n, size_t size)
{
	if (tok->arena == NULL || n == 0 || n > SIZE_MAX / size)
		return (NULL);
	return (baton_arena_alloc(tok->arena, n * size));
}

/* A block restricts tools when it carries grants that are not "*". */
static int
restricts_tools(const struct baton_block *b)
{
	return (b->has_grants && !b->grants.wildcard);
}

/*
 * A payload of 4 KiB can list around a thousand tools, so lookups across
 * blocks bisect lists that are sorted (what the decoder produces) and scan
 * the rest: an unsorted list costs time, never correctness.
 */
static int
grants_sorted(const struct baton_grants *g)
{
	size_t	i;

	for (i = 0; i < g->ntools; i++) {
		if (g->tools[i].tool == NULL)
			return (0);
		if (i > 0 &&
		    strcmp(g->tools[i - 1].tool, g->tools[i].tool) >= 0)
			return (0);
	}
	return (1);
}

static const struct baton_toolgrant *
grants_find(const struct baton_grants *g, int sorted, const char *tool)
{
	size_t	lo, hi, mid, i;
	int	c;

	if (tool == NULL)
		return (NULL);
	if (sorted) {
		lo = 0;
		hi = g->ntools;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = strcmp(tool, g->tools[mid].tool);
			if (c == 0)
				return (&g->tools[mid]);
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		return (NULL);
	}
	for (i = 0; i < g->ntools; i++) {
		if (str_eq(tool, g->tools[i].tool))
			return (&g->tools[i]);
	}
	return (NULL);
}

/* ---- chain shape ------------------------------------------------------- */

/*
 * A presentation block is the per-call token: one tool, one action, one
 * audience, single use, short-lived.  Anything wider is not a presentation
 * a broker could have written.
 */
static int
present_shape_ok(const struct baton_block *b, int holder_ok)
{
	const struct baton_toolgrant	*tg;

	if (!b->has_grants || b->grants.wildcard || b->grants.ntools != 1)
		return (0);
	tg = &b->grants.tools[0];
	if (tg->tool == NULL || tg->nactions != 1 || tg->actions[0] == NULL)
		return (0);
	if (!b->has_aud || b->naud != 1 || b->aud[0] == NULL)
		return (0);
	/* nothing follows a presentation, so a holder in it binds nothing */
	if (!b->single_use || (b->holder != NULL && !holder_ok))
		return (0);
	if (b->exp < b->iat || b->exp - b->iat > BATON_PRESENT_MAX_TTL)
		return (0);
	return (1);
}

/* Ends in a presentation block, or is a call token (one sealed block). */
static int
is_presented(const struct baton_token *tok)
{
	return (tok->blocks[tok->nblocks - 1].kind == BATON_BLOCK_PRESENT ||
	    (tok->nblocks == 1 && tok->blocks[0].seal != NULL));
}

static enum baton_reason
chain_shape(const struct baton_token *tok)
{
	const struct baton_block	*b;
	size_t				 i, n;

	n = tok->nblocks;
	if (n == 0 || n > BATON_MAX_BLOCKS)
		return (BATON_R_BAD_CHAIN);

	/* block 0 is what mint writes: all grants and a depth cap, no hop */
	b = &tok->blocks[0];
	if (b->kind != BATON_BLOCK_ATTENUATE || !b->has_grants ||
	    !b->has_max_depth || b->delegator != NULL)
		return (BATON_R_BAD_CHAIN);
	/*
	 * A call token (present --minimal) is one block and the shape of a
	 * presentation, which may carry the holder it was presented by.
	 * Nothing may be appended to it.
	 */
	if (b->seal != NULL) {
		if (n != 1 || b->max_depth != 0 ||
		    !present_shape_ok(b, 1))
			return (BATON_R_BAD_CHAIN);
		return (BATON_R_OK);
	}

	for (i = 1; i < n; i++) {
		b = &tok->blocks[i];
		if (b->delegator == NULL)
			return (BATON_R_BAD_CHAIN);
		switch (b->kind) {
		case BATON_BLOCK_ATTENUATE:
			break;
		case BATON_BLOCK_PRESENT:
			/* a presentation ends the chain: nothing may follow */
			if (i != n - 1 || !present_shape_ok(b, 0))
				return (BATON_R_BAD_CHAIN);
			break;
		default:
			return (BATON_R_BAD_CHAIN);
		}
	}
	return (BATON_R_OK);
}

/* ---- effective grant --------------------------------------------------- */

static enum baton_reason
effective_tools(const struct baton_token *tok, struct baton_effective *eff)
{
	const struct baton_grants	*g0;
	const char			*name;
	int				 sorted[BATON_MAX_BLOCKS];
	size_t				 i, j, k, first, n = tok->nblocks;
	int				 keep;

	first = n;
	for (i = 0; i < n; i++) {
		sorted[i] = 0;
		if (!restricts_tools(&tok->blocks[i]))
			continue;
		if (first == n)
			first = i;
		sorted[i] = grants_sorted(&tok->blocks[i].grants);
	}
	if (first == n) {
		eff->wildcard = 1;
		return (BATON_R_OK);
	}

	/* candidates come from the first restricting block; others filter */
	g0 = &tok->blocks[first].grants;
	if (g0->ntools == 0)
		return (BATON_R_OK);
	if ((eff->tools = arena_array(tok, g0->ntools, sizeof(char *))) == NULL)
		return (BATON_R_UNAVAILABLE);
	for (k = 0; k < g0->ntools; k++) {
		name = g0->tools[k].tool;
		if (name == NULL)
			continue;
		/* a sorted list is strictly ascending: no duplicates in it */
		if (!sorted[first] && str_in(name, eff->tools, eff->ntools))
			continue;
		keep = 1;
		for (j = first + 1; j < n && keep; j++) {
			if (restricts_tools(&tok->blocks[j]) &&
			    grants_find(&tok->blocks[j].grants, sorted[j],
			    name) == NULL)
				keep = 0;
		}
		if (keep)
			eff->tools[eff->ntools++] = name;
	}
	return (BATON_R_OK);
}

static enum baton_reason
effective_aud(const struct baton_token *tok, struct baton_effective *eff)
{
	const struct baton_block	*b;
	size_t				 i, j, k, n = tok->nblocks;

	for (i = 0; i < n; i++) {
		b = &tok->blocks[i];
		if (!b->has_aud)
			continue;
		if (!eff->has_aud) {
			eff->has_aud = 1;
			if (b->naud == 0)
				continue;
			eff->aud = arena_array(tok, b->naud, sizeof(char *));
			if (eff->aud == NULL)
				return (BATON_R_UNAVAILABLE);
			for (k = 0; k < b->naud; k++) {
				if (b->aud[k] != NULL &&
				    !str_in(b->aud[k], eff->aud, eff->naud))
					eff->aud[eff->naud++] = b->aud[k];
			}
			continue;
		}
		/* later audience lists can only remove entries */
		for (j = k = 0; j < eff->naud; j++) {
			if (str_in(eff->aud[j], b->aud, b->naud))
				eff->aud[k++] = eff->aud[j];
		}
		eff->naud = k;
	}
	return (BATON_R_OK);
}

static enum baton_reason
effective_ctx(const struct baton_token *tok, struct baton_effective *eff)
{
	const struct baton_block	*b;
	struct baton_kv			*out;
	size_t				 i, j, k, total = 0, nout = 0;

	for (i = 0; i < tok->nblocks; i++) {
		if (tok->blocks[i].nctx > SIZE_MAX - total)
			return (BATON_R_UNAVAILABLE);
		total += tok->blocks[i].nctx;
	}
	if (total == 0)
		return (BATON_R_OK);
	if ((out = arena_array(tok, total, sizeof(*out))) == NULL)
		return (BATON_R_UNAVAILABLE);

	/* first appearance fixes the order, the latest block fixes the value */
	for (i = 0; i < tok->nblocks; i++) {
		b = &tok->blocks[i];
		for (j = 0; j < b->nctx; j++) {
			if (b->ctx[j].key == NULL)
				continue;
			for (k = 0; k < nout; k++) {
				if (strcmp(out[k].key, b->ctx[j].key) == 0)
					break;
			}
			out[k] = b->ctx[j];
			if (k == nout)
				nout++;
		}
	}
	eff->ctx = out;
	eff->nctx = nout;
	return (BATON_R_OK);
}

enum baton_reason
baton_effective(const struct baton_token *tok, struct baton_effective *eff)
{
	const struct baton_block	*b;
	enum baton_reason		 r;
	uint64_t			 hops, left;
	size_t				 i, n;

	memset(eff, 0, sizeof(*eff));
	if (tok == NULL)
		return (BATON_R_BAD_CHAIN);
	if ((r = chain_shape(tok)) != BATON_R_OK)
		return (r);
	n = tok->nblocks;

	eff->nbf = tok->blocks[0].nbf;
	eff->iss = tok->blocks[0].iss;
	eff->sub = tok->blocks[0].sub;
	eff->depth = n - 1;
	eff->presented = is_presented(tok);
	eff->exp = UINT64_MAX;
	eff->depth_left = UINT64_MAX;

	for (i = 0; i < n; i++) {
		b = &tok->blocks[i];
		if (b->exp < eff->exp) {
			eff->exp = b->exp;
			eff->exp_block = i;
		}
		/*
		 * Block i already has n-1-i blocks after it.  An exceeded cap
		 * reads as no depth left here; baton_evaluate reports it.
		 */
		if (b->has_max_depth) {
			hops = n - 1 - i;
			left = b->max_depth >= hops ? b->max_depth - hops : 0;
			if (left < eff->depth_left)
				eff->depth_left = left;
		}
		if (b->holder != NULL)
			eff->holder = b->holder;
		if (b->single_use)
			eff->single_use[eff->nsingle_use++] = b->jti;
	}

	if ((r = effective_tools(tok, eff)) != BATON_R_OK)
		return (r);
	if ((r = effective_aud(tok, eff)) != BATON_R_OK)
		return (r);
	return (effective_ctx(tok, eff));
}

enum baton_reason
baton_tool_facts(const struct baton_token *tok, const char *tool,
    struct baton_tool_facts *f)
{
	const struct baton_toolgrant	*tg;
	const struct baton_block	*b;
	size_t				 i, j, k, n, nlim = 0, nwhere = 0;
	size_t				 nact = 0;

	memset(f, 0, sizeof(*f));
	f->any_action = 1;
	if (tok == NULL || tok->nblocks == 0 || tok->nblocks > BATON_MAX_BLOCKS)
		return (BATON_R_BAD_CHAIN);
	if (tool == NULL)
		return (BATON_R_TOOL_NOT_GRANTED);
	n = tok->nblocks;

	/* first pass: is the tool in every restricting block, and sizes */
	for (i = 0; i < n; i++) {
		b = &tok->blocks[i];
		if (!restricts_tools(b))
			continue;
		if ((tg = grants_find(&b->grants, 0, tool)) == NULL)
			return (BATON_R_TOOL_NOT_GRANTED);
		if (nact == 0)
			nact = tg->nactions;
		nlim += tg->nlimits;
		nwhere += tg->nwhere;
	}
	if (nact > 0 &&
	    (f->actions = arena_array(tok, nact, sizeof(char *))) == NULL)
		return (BATON_R_UNAVAILABLE);
	if (nlim > 0 &&
	    (f->limits = arena_array(tok, nlim, sizeof(*f->limits))) == NULL)
		return (BATON_R_UNAVAILABLE);
	if (nwhere > 0 &&
	    (f->where = arena_array(tok, nwhere, sizeof(*f->where))) == NULL)
		return (BATON_R_UNAVAILABLE);

	for (i = 0; i < n; i++) {
		b = &tok->blocks[i];
		if (!restricts_tools(b))
			continue;
		/* never NULL: the first pass found it */
		tg = grants_find(&b->grants, 0, tool);

		/*
		 * No actions means any action.  Once one block names actions
		 * the set only shrinks, and may shrink to nothing: then no
		 * action at all is allowed, which is not the same as "any".
		 */
		if (tg->nactions > 0 && f->any_action) {
			f->any_action = 0;
			for (j = 0; j < tg->nactions; j++) {
				if (tg->actions[j] != NULL && !str_in(
				    tg->actions[j], f->actions, f->nactions))
					f->actions[f->nactions++] =
					    tg->actions[j];
			}
		} else if (tg->nactions > 0) {
			for (j = k = 0; j < f->nactions; j++) {
				if (str_in(f->actions[j], tg->actions,
				    tg->nactions))
					f->actions[k++] = f->actions[j];
			}
			f->nactions = k;
		}

		/* a block that omits a limit inherits it: minimum by name */
		for (j = 0; j < tg->nlimits; j++) {
			if (tg->limits[j].name == NULL)
				continue;
			for (k = 0; k < f->nlimits; k++) {
				if (strcmp(f->limits[k].name,
				    tg->limits[j].name) == 0)
					break;
			}
			if (k == f->nlimits)
				f->limits[f->nlimits++] = tg->limits[j];
			else if (tg->limits[j].max < f->limits[k].max)
				f->limits[k].max = tg->limits[j].max;
		}

		for (j = 0; j < tg->nwhere; j++)
			f->where[f->nwhere++] = &tg->where[j];
	}
	return (BATON_R_OK);
}

/* ---- predicates -------------------------------------------------------- */

/*
 * A glob is head*seg1*seg2*...*tail: with stars only, the head must match
 * at the start and the tail at the end, and each segment between stars
 * may take its leftmost match after the previous one (any later match
 * leaves less room, never more).  So no backtracking at all: every byte of
 * the input is read once per segment search, and the searches cover
 * disjoint stretches of it.  Segments with '?', and short ones, are found
 * with the bit-parallel Shift-And: one machine word per 64 pattern bytes
 * per input byte, at most 4 under BATON_MAX_GLOB_WILD.  Longer literal
 * ones with Knuth-Morris-Pratt: at most 2 steps per input byte whatever
 * the segment.  The input is never copied or scanned twice.
 */

#define GLOB_WBITS	64
#define GLOB_STACK	1024	/* uint64_t words of scratch on the stack */

struct glob_scratch {
	uint16_t	 rowof[256];	/* byte -> its row in tab; 0: none */
	uint64_t	*tab;		/* row 0: '?' positions; then per byte */
	uint64_t	*d;		/* Shift-And state */
	size_t		*fail;		/* KMP failure function */
};

/* Do m bytes of pattern (with '?') match m bytes of input exactly here? */
static int
glob_fixed(const char *p, const char *s, size_t m)
{
	size_t	i;

	for (i = 0; i < m; i++) {
		if (p[i] != '?' && p[i] != s[i])
			return (0);
	}
	return (1);
}

/*
 * Leftmost occurrence of the literal p[0..m) in s[lo..hi): KMP.  Returns
 * the offset just past it, or SIZE_MAX.  Each input byte advances the
 * scan or shortens the partial match, so at most 2 (hi - lo) steps.
 */
static size_t
glob_find_literal(struct glob_scratch *g, const char *p, size_t m,
    const char *s, size_t lo, size_t hi)
{
	size_t	i, k, t;

	g->fail[0] = 0;
	for (i = 1, k = 0; i < m; i++) {
		while (k > 0 && p[i] != p[k])
			k = g->fail[k - 1];
		if (p[i] == p[k])
			k++;
		g->fail[i] = k;
	}
	for (t = lo, k = 0; t < hi; t++) {
		while (k > 0 && s[t] != p[k])
			k = g->fail[k - 1];
		if (s[t] == p[k] && ++k == m)
			return (t + 1);
	}
	return (SIZE_MAX);
}

/*
 * Leftmost occurrence of p[0..m), which may hold '?', in s[lo..hi):
 * Shift-And.  Bit j of the state says p[0..j] matches the input ending
 * here; the row of an input byte has bit j set where p[j] is that byte or
 * '?'.  Only the bytes the segment uses get a row of their own (the rest
 * share row 0, the '?' positions), so a segment costs its own length to
 * set up, not 256 rows.  Words are updated from the top down, each from
 * the old value of the one below, so there is no carry to wait for.
 */
static size_t
glob_find_wild(struct glob_scratch *g, const char *p, size_t m,
    const char *s, size_t lo, size_t hi)
{
	const uint64_t	*row;
	uint64_t	*d = g->d, last;
	size_t		 i, j, t, w, nrows = 1, found = SIZE_MAX;
	unsigned char	 c;

	w = (m + GLOB_WBITS - 1) / GLOB_WBITS;
	memset(g->tab, 0, w * sizeof(*g->tab));
	for (j = 0; j < m; j++) {
		if (p[j] == '?')
			g->tab[j / GLOB_WBITS] |= (uint64_t)1 << (j % GLOB_WBITS);
	}
	for (j = 0; j < m; j++) {
		c = (unsigned char)p[j];
		if (p[j] == '?')
			continue;
		if (g->rowof[c] == 0) {
			g->rowof[c] = (uint16_t)nrows;
			memcpy(&g->tab[nrows * w], g->tab, w * sizeof(*g->tab));
			nrows++;
		}
		g->tab[g->rowof[c] * w + j / GLOB_WBITS] |=
		    (uint64_t)1 << (j % GLOB_WBITS);
	}
	memset(d, 0, w * sizeof(*d));
	last = (uint64_t)1 << ((m - 1) % GLOB_WBITS);
	for (t = lo; t < hi; t++) {
		row = &g->tab[g->rowof[(unsigned char)s[t]] * w];
		for (i = w - 1; i > 0; i--)
			d[i] = ((d[i] << 1) | (d[i - 1] >> (GLOB_WBITS - 1))) &
			    row[i];
		d[0] = ((d[0] << 1) | 1) & row[0];	/* a match may start here */
		if (d[w - 1] & last) {
			found = t + 1;
			break;
		}
	}
	for (j = 0; j < m; j++)
		g->rowof[(unsigned char)p[j]] = 0;
	return (found);
}

int
baton_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	struct glob_scratch	 g;
	uint64_t		 stack[GLOB_STACK], *heap = NULL;
	size_t			 i, j, head, tail, lo, hi, m, w, rows, words;
	size_t			 maxlit = 0, maxwild = 0;
	int			 wild, ok = 0;

	if ((pat == NULL && plen > 0) || (s == NULL && slen > 0))
		return (0);
	head = 0;
	while (head < plen && pat[head] != '*')
		head++;
	if (head == plen)
		return (plen == slen && glob_fixed(pat, s, plen));
	tail = 0;
	while (pat[plen - 1 - tail] != '*')
		tail++;
	if (head + tail > slen || !glob_fixed(pat, s, head) || (tail > 0 &&
	    !glob_fixed(pat + plen - tail, s + slen - tail, tail)))
		return (0);

	/*
	 * Size the scratch for the longest segment of each kind.  A literal
	 * that fits one word goes to Shift-And too: one step a byte, where
	 * KMP may take two.
	 */
	for (i = head; i < plen - tail; i = j) {
		while (i < plen - tail && pat[i] == '*')
			i++;
		for (j = i, wild = 0; j < plen - tail && pat[j] != '*'; j++)
			wild |= pat[j] == '?';
		wild |= j - i <= GLOB_WBITS;
		if (wild && j - i > maxwild)
			maxwild = j - i;
		else if (!wild && j - i > maxlit)
			maxlit = j - i;
	}
	if (maxlit == 0 && maxwild == 0)
		return (1);	/* stars only between head and tail */
	/*
	 * Scratch: the rows (the '?' row and one per distinct byte, at most
	 * 256 + 1) and the state for the widest '?' segment, and the failure
	 * function for the longest literal one.
	 */
	memset(&g, 0, sizeof(g));
	w = (maxwild + GLOB_WBITS - 1) / GLOB_WBITS;
	rows = maxwild < 256 ? maxwild + 1 : 257;
	if (plen > SIZE_MAX / 64)	/* so words * 8 cannot wrap */
		return (0);
	words = w * (rows + 1) + (maxlit * sizeof(size_t) +
	    sizeof(uint64_t) - 1) / sizeof(uint64_t);
	if (words <= GLOB_STACK)
		g.tab = stack;
	else if ((g.tab = heap = malloc(words * sizeof(uint64_t))) == NULL)
		return (0);	/* no memory: no match, so deny */
	g.d = g.tab + w * rows;
	g.fail = (size_t *)(void *)(g.d + w);

	lo = head;
	hi = slen - tail;
	for (i = head; i < plen - tail; i = j) {
		while (i < plen - tail && pat[i] == '*')
			i++;
		for (j = i, wild = 0; j < plen - tail && pat[j] != '*'; j++)
			wild |= pat[j] == '?';
		wild |= j - i <= GLOB_WBITS;
		if ((m = j - i) == 0)
			continue;
		lo = wild ? glob_find_wild(&g, pat + i, m, s, lo, hi) :
		    glob_find_literal(&g, pat + i, m, s, lo, hi);
		if (lo == SIZE_MAX)
			goto out;
	}
	ok = 1;
out:
	free(heap);
	return (ok);
}

/*
 * The caps that keep matching cheap (doc/TOKEN.md section 10).  A '?'
 * segment costs one word of Shift-And per 64 bytes per input byte, so its
 * length is capped; pattern bytes in the whole chain are capped as well,
 * which bounds the set-up work and the number of predicates that cost.
 */
int
baton_glob_ok(const char *pat, size_t plen)
{
	size_t	i, j;
	int	wild;

	if (pat == NULL && plen > 0)
		return (0);
	for (i = 0; i < plen; i = j + 1) {
		for (j = i, wild = 0; j < plen && pat[j] != '*'; j++)
			wild |= pat[j] == '?';
		if (wild && j - i > BATON_MAX_GLOB_WILD)
			return (0);
	}
	return (1);
}

size_t
baton_pred_bytes(const struct baton_pred *p)
{
	size_t	i, n = 0;

	if (p->vals == NULL)
		return (0);
	for (i = 0; i < p->nvals; i++) {
		if (p->vals[i].type != BATON_V_STR)
			continue;
		if (p->vals[i].len > SIZE_MAX - n)
			return (SIZE_MAX);
		n += p->vals[i].len;
	}
	return (n);
}

size_t
baton_grants_pred_bytes(const struct baton_grants *g)
{
	const struct baton_argrule	*w;
	size_t				 i, j, k, b, n = 0;

	if (g->wildcard || g->tools == NULL)
		return (0);
	for (i = 0; i < g->ntools; i++) {
		if (g->tools[i].where == NULL)
			continue;
		for (j = 0; j < g->tools[i].nwhere; j++) {
			w = &g->tools[i].where[j];
			for (k = 0; w->preds != NULL && k < w->npreds; k++) {
				b = baton_pred_bytes(&w->preds[k]);
				if (b > SIZE_MAX - n)
					return (SIZE_MAX);
				n += b;
			}
		}
	}
	return (n);
}

static int
value_ok(const struct baton_value *v)
{
	switch (v->type) {
	case BATON_V_STR:
		return (v->s != NULL || v->len == 0);
	case BATON_V_INT:
	case BATON_V_BOOL:
		return (1);
	default:
		return (0);
	}
}

static int
value_eq(const struct baton_value *a, const struct baton_value *b)
{
	if (a->type != b->type || !value_ok(a) || !value_ok(b))
		return (0);
	switch (a->type) {
	case BATON_V_STR:
		return (a->len == b->len &&
		    (a->len == 0 || memcmp(a->s, b->s, a->len) == 0));
	case BATON_V_INT:
		return (a->i == b->i);
	case BATON_V_BOOL:
		/* any non-zero is true: the decoder stores 0/1 anyway */
		return ((a->i != 0) == (b->i != 0));
	default:
		return (0);
	}
}

/* The predicate's one string operand, or NULL if it has none. */
static const struct baton_value *
pred_str(const struct baton_pred *p)
{
	if (p->nvals != 1 || p->vals == NULL ||
	    p->vals[0].type != BATON_V_STR || !value_ok(&p->vals[0]))
		return (NULL);
	return (&p->vals[0]);
}

int
baton_pred_match(const struct baton_pred *p, const struct baton_value *v)
{
	const struct baton_value	*pv;
	size_t				 i;

	if (p == NULL || v == NULL || !value_ok(v))
		return (0);
	switch (p->op) {
	case BATON_P_EQ:
		return (p->nvals == 1 && p->vals != NULL &&
		    value_eq(&p->vals[0], v));
	case BATON_P_IN:
		if (p->vals == NULL)
			return (0);
		for (i = 0; i < p->nvals; i++) {
			if (value_eq(&p->vals[i], v))
				return (1);
		}
		return (0);
	case BATON_P_PREFIX:
		if ((pv = pred_str(p)) == NULL || v->type != BATON_V_STR)
			return (0);
		return (v->len >= pv->len &&
		    (pv->len == 0 || memcmp(v->s, pv->s, pv->len) == 0));
	case BATON_P_GLOB:
		if ((pv = pred_str(p)) == NULL || v->type != BATON_V_STR)
			return (0);
		return (baton_glob_match(pv->s, pv->len, v->s, v->len));
	case BATON_P_RANGE:
		return (v->type == BATON_V_INT && p->lo <= v->i &&
		    v->i <= p->hi);
	case BATON_P_MAXLEN:
		return (v->type == BATON_V_STR && v->len <= p->maxlen);
	default:
		return (0);
	}
}

/* ---- evaluation -------------------------------------------------------- */

/*
 * Times: nbf and exp bound [nbf, exp).  Leeway widens both ends for clock
 * skew between the broker that wrote a block and this verifier: a token is
 * not yet valid iff now + leeway < nbf, and expired iff now >= exp_i +
 * leeway for some block i, which is now >= min(exp_i) + leeway.
 */
static enum baton_reason
check_time(const struct baton_effective *eff, const struct baton_request *req)
{
	if (sat_add(req->now, req->leeway) < eff->nbf)
		return (BATON_R_NOT_YET_VALID);
	if (req->now >= sat_add(eff->exp, req->leeway))
		return (BATON_R_EXPIRED);
	return (BATON_R_OK);
}

/*
 * A retired key verifies only what it could have signed while it was the
 * signer: nothing once its not_after has passed, and no token whose expiry
 * lies beyond it.  Rotation sets not_after past the longest lifetime the
 * broker issued, so a token that outlives its key was forged with a stolen
 * seed.  No leeway: rotation has already added it.
 */
static enum baton_reason
check_key(const struct baton_token *tok, const struct baton_effective *eff,
    uint64_t now)
{
	/* an imported key is trusted only until its bundle's end */
	if (tok->key_trust_until != 0 && now > tok->key_trust_until)
		return (BATON_R_KEY_RETIRED);
	if (tok->key_not_after == 0)
		return (BATON_R_OK);
	if (now > tok->key_not_after || eff->exp > tok->key_not_after)
		return (BATON_R_KEY_RETIRED);
	return (BATON_R_OK);
}

/* Depth is computed, never read: block i may have max_depth(i) after it. */
static enum baton_reason
check_depth(const struct baton_token *tok)
{
	const struct baton_block	*b;
	size_t				 i, n = tok->nblocks;

	for (i = 0; i < n; i++) {
		b = &tok->blocks[i];
		if (b->has_max_depth && (uint64_t)(n - 1 - i) > b->max_depth)
			return (BATON_R_DEPTH_EXCEEDED);
	}
	return (BATON_R_OK);
}

/*
 * Once a block binds a holder, only that holder may write the next block
 * (attenuate or present), and a bound token is only good for a call once
 * it has been presented: a stolen delegation token is useless by itself.
 * That includes a holder set by the last block or by a one-block token
 * minted with a holder; a presentation block itself never sets one.
 */
static enum baton_reason
check_holder(const struct baton_token *tok)
{
	const char	*bound = NULL;
	size_t		 i, n = tok->nblocks;

	for (i = 0; i < n; i++) {
		if (tok->blocks[i].holder != NULL)
			bound = tok->blocks[i].holder;
	}
	if (bound != NULL && !is_presented(tok))
		return (BATON_R_NOT_PRESENTED);

	bound = NULL;
	for (i = 0; i < n; i++) {
		if (i > 0 && bound != NULL &&
		    !str_eq(tok->blocks[i].delegator, bound))
			return (BATON_R_HOLDER_MISMATCH);
		if (tok->blocks[i].holder != NULL)
			bound = tok->blocks[i].holder;
	}
	return (BATON_R_OK);
}

/* Every occurrence of the named argument must satisfy every predicate. */
static int
rule_holds(const struct baton_argrule *rule, const struct baton_request *req)
{
	size_t	i, j;
	int	found = 0;

	if (rule->arg == NULL || (rule->npreds > 0 && rule->preds == NULL))
		return (0);
	for (i = 0; i < req->nargs; i++) {
		if (!str_eq(req->args[i].name, rule->arg))
			continue;
		found = 1;
		for (j = 0; j < rule->npreds; j++) {
			if (!baton_pred_match(&rule->preds[j],
			    &req->args[i].value))
				return (0);
		}
	}
	return (found);
}

enum baton_reason
baton_evaluate(const struct baton_token *tok, const struct baton_request *req,
    struct baton_effective *eff, struct baton_tool_facts *facts)
{
	struct baton_effective		 eff0;
	struct baton_tool_facts		 facts0;
	const struct baton_usage	*u;
	enum baton_reason		 r;
	size_t				 i, j;

	if (eff == NULL)
		eff = &eff0;
	if (facts == NULL)
		facts = &facts0;
	memset(facts, 0, sizeof(*facts));

	if ((r = baton_effective(tok, eff)) != BATON_R_OK)
		return (r);
	if (req == NULL || req->tool == NULL)
		return (BATON_R_TOOL_NOT_GRANTED);
	if ((r = check_time(eff, req)) != BATON_R_OK)
		return (r);
	if ((r = check_key(tok, eff, req->now)) != BATON_R_OK)
		return (r);
	if ((r = check_depth(tok)) != BATON_R_OK)
		return (r);
	if ((r = check_holder(tok)) != BATON_R_OK)
		return (r);

	if ((r = baton_tool_facts(tok, req->tool, facts)) != BATON_R_OK)
		return (r);

	/* a restricted tool needs a named action: no action is no match */
	if (!facts->any_action && (req->action == NULL ||
	    !str_in(req->action, facts->actions, facts->nactions)))
		return (BATON_R_ACTION_NOT_GRANTED);

	if (eff->has_aud && (req->audience == NULL ||
	    !str_in(req->audience, eff->aud, eff->naud)))
		return (BATON_R_AUDIENCE_MISMATCH);

	for (i = 0; i < facts->nwhere; i++) {
		if (!rule_holds(facts->where[i], req))
			return (BATON_R_ARGUMENT_REJECTED);
	}

	/* usage of a resource the token does not limit is not ours to judge */
	for (i = 0; i < req->nusage; i++) {
		u = &req->usage[i];
		for (j = 0; j < facts->nlimits; j++) {
			if (str_eq(u->name, facts->limits[j].name) &&
			    u->value > facts->limits[j].max)
				return (BATON_R_LIMIT_EXCEEDED);
		}
	}
	return (BATON_R_OK);
}

/* ---- attenuation ------------------------------------------------------- */

static int
pred_valid(const struct baton_pred *p)
{
	size_t	i;

	if (p->nvals > 0 && p->vals == NULL)
		return (0);
	for (i = 0; i < p->nvals; i++) {
		if (!value_ok(&p->vals[i]))
			return (0);
	}
	switch (p->op) {
	case BATON_P_EQ:
		return (p->nvals == 1);
	case BATON_P_IN:
		return (p->nvals >= 1);
	case BATON_P_PREFIX:
	case BATON_P_GLOB:
		return (pred_str(p) != NULL);
	case BATON_P_RANGE:
		return (p->lo <= p->hi);
	case BATON_P_MAXLEN:
		return (1);
	default:
		return (0);
	}
}

static int
toolgrant_valid(const struct baton_toolgrant *tg)
{
	const struct baton_argrule	*w;
	size_t				 i, j;

	if (tg->tool == NULL || *tg->tool == '\0')
		return (0);
	if ((tg->nactions > 0 && tg->actions == NULL) ||
	    (tg->nlimits > 0 && tg->limits == NULL) ||
	    (tg->nwhere > 0 && tg->where == NULL))
		return (0);
	for (i = 0; i < tg->nactions; i++) {
		if (tg->actions[i] == NULL || *tg->actions[i] == '\0')
			return (0);
	}
	for (i = 0; i < tg->nlimits; i++) {
		if (tg->limits[i].name == NULL || *tg->limits[i].name == '\0')
			return (0);
	}
	for (i = 0; i < tg->nwhere; i++) {
		w = &tg->where[i];
		if (w->arg == NULL || *w->arg == '\0' || w->npreds == 0 ||
		    w->preds == NULL)
			return (0);
		for (j = 0; j < w->npreds; j++) {
			if (!pred_valid(&w->preds[j]))
				return (0);
		}
	}
	return (1);
}

/*
 * Shape of the request alone, before comparing it with the parent: an
 * empty or ill-formed restriction would produce a block that encodes
 * badly or grants nothing, so it is refused rather than written.
 */
static int
restrict_valid(const struct baton_restrict *r)
{
	const struct baton_grants	*g = &r->grants;
	size_t				 i, j;

	if (r->kind != BATON_BLOCK_ATTENUATE && r->kind != BATON_BLOCK_PRESENT)
		return (0);
	if (r->has_grants) {
		if (g->wildcard && g->ntools > 0)
			return (0);
		if (!g->wildcard && (g->ntools == 0 || g->tools == NULL))
			return (0);
		for (i = 0; i < g->ntools; i++) {
			if (!toolgrant_valid(&g->tools[i]))
				return (0);
			for (j = 0; j < i; j++) {
				if (strcmp(g->tools[i].tool,
				    g->tools[j].tool) == 0)
					return (0);
			}
		}
	}
	if (r->has_aud) {
		if (r->naud == 0 || r->aud == NULL)
			return (0);
		for (i = 0; i < r->naud; i++) {
			if (r->aud[i] == NULL || *r->aud[i] == '\0')
				return (0);
		}
	}
	if (r->nctx > 0 && r->ctx == NULL)
		return (0);
	for (i = 0; i < r->nctx; i++) {
		if (r->ctx[i].key == NULL || r->ctx[i].value == NULL)
			return (0);
	}
	if (r->holder != NULL && *r->holder == '\0')
		return (0);

	if (r->kind == BATON_BLOCK_PRESENT) {
		/* the per-call token: exactly one tool, action and audience */
		if (!r->has_grants || g->wildcard || g->ntools != 1 ||
		    g->tools[0].nactions != 1)
			return (0);
		if (!r->has_aud || r->naud != 1)
			return (0);
		/* nothing can follow a presentation, so binding is moot */
		if (r->holder != NULL)
			return (0);
	}
	return (1);
}

/*
 * Would the chain with this restriction appended stay within the caps on
 * where predicates?  Decode refuses a chain that does not, so a block
 * that would break them is never written.
 */
static int
preds_fit(const struct baton_token *parent, const struct baton_grants *g)
{
	const struct baton_argrule	*w;
	const struct baton_pred		*p;
	size_t				 i, j, k, b, n;

	for (i = 0; i < g->ntools; i++) {
		for (j = 0; j < g->tools[i].nwhere; j++) {
			w = &g->tools[i].where[j];
			for (k = 0; k < w->npreds; k++) {
				p = &w->preds[k];
				if (p->op == BATON_P_GLOB &&
				    !baton_glob_ok(p->vals[0].s, p->vals[0].len))
					return (0);
			}
		}
	}
	if ((n = baton_grants_pred_bytes(g)) > BATON_MAX_PRED_BYTES)
		return (0);
	for (i = 0; i < parent->nblocks; i++) {
		if (!parent->blocks[i].has_grants)
			continue;
		b = baton_grants_pred_bytes(&parent->blocks[i].grants);
		if (b > BATON_MAX_PRED_BYTES - n)
			return (0);
		n += b;
	}
	return (1);
}

static const struct baton_limit *
limit_find(const struct baton_limit *l, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (str_eq(l[i].name, name))
			return (&l[i]);
	}
	return (NULL);
}

/*
 * The requested grants must be a subset of the parent's effective grant.
 * Tools are checked for every entry before actions, and actions before
 * limits, so the reason names the widest problem.
 */
static enum baton_reason
check_grants_subset(const struct baton_token *parent,
    const struct baton_effective *peff, const struct baton_grants *g)
{
	const struct baton_toolgrant	*tg;
	const struct baton_limit	*pl;
	struct baton_tool_facts		 pf;
	size_t				 i, j, pass;

	if (g->wildcard)
		return (peff->wildcard ? BATON_R_OK : BATON_R_WIDEN_TOOL);

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < g->ntools; i++) {
			tg = &g->tools[i];
			if (!peff->wildcard &&
			    !str_in(tg->tool, peff->tools, peff->ntools))
				return (BATON_R_WIDEN_TOOL);
			if (pass == 0)
				continue;
			switch (baton_tool_facts(parent, tg->tool, &pf)) {
			case BATON_R_OK:
				break;
			case BATON_R_UNAVAILABLE:
				return (BATON_R_UNAVAILABLE);
			default:
				return (BATON_R_WIDEN_TOOL);
			}
			if (pass == 1) {
				/*
				 * No actions named means no further
				 * restriction: the child inherits the
				 * parent's actions through the intersection,
				 * which cannot widen, so it is not refused.
				 */
				for (j = 0; j < tg->nactions; j++) {
					if (!pf.any_action && !str_in(
					    tg->actions[j], pf.actions,
					    pf.nactions))
						return (BATON_R_WIDEN_ACTION);
				}
				continue;
			}
			for (j = 0; j < tg->nlimits; j++) {
				pl = limit_find(pf.limits, pf.nlimits,
				    tg->limits[j].name);
				if (pl != NULL && tg->limits[j].max > pl->max)
					return (BATON_R_WIDEN_LIMIT);
			}
		}
	}
	return (BATON_R_OK);
}

enum baton_reason
baton_attenuate(const struct baton_token *parent,
    const struct baton_restrict *r, const char *delegator,
    const uint8_t jti[BATON_JTI_LEN], uint64_t now, struct baton_block *child)
{
	struct baton_effective	 peff;
	enum baton_reason	 rc;
	uint64_t		 remaining, ttl;
	uint8_t			 newjti[BATON_JTI_LEN];
	size_t			 i;

	/* copy first: callers naturally pass child->jti, which we clear */
	if (jti != NULL)
		memcpy(newjti, jti, sizeof(newjti));
	memset(child, 0, sizeof(*child));
	if (parent == NULL || r == NULL || jti == NULL || delegator == NULL ||
	    *delegator == '\0')
		return (BATON_R_BAD_RESTRICTION);
	if ((rc = baton_effective(parent, &peff)) != BATON_R_OK)
		return (rc);

	if (peff.presented)
		return (BATON_R_ALREADY_PRESENTED);
	if (now >= peff.exp)
		return (BATON_R_EXPIRED);
	/* never re-sign, with the current key, what its own key disowns */
	if ((rc = check_key(parent, &peff, now)) != BATON_R_OK)
		return (rc);
	/* who asks comes before what is asked: a stranger learns nothing */
	if (peff.holder != NULL && !str_eq(delegator, peff.holder))
		return (BATON_R_HOLDER_MISMATCH);
	if (peff.depth_left == 0)
		return (BATON_R_NO_DEPTH_LEFT);
	if (!restrict_valid(r))
		return (BATON_R_BAD_RESTRICTION);
	if (r->has_grants && !preds_fit(parent, &r->grants))
		return (BATON_R_TOO_LARGE);

	/* refuse rather than clamp: the caller learns what it cannot have */
	remaining = peff.exp - now;
	ttl = r->ttl;
	if (r->kind == BATON_BLOCK_PRESENT) {
		if (ttl == 0)
			ttl = remaining < BATON_PRESENT_MAX_TTL ?
			    remaining : BATON_PRESENT_MAX_TTL;
		if (ttl > BATON_PRESENT_MAX_TTL)
			return (BATON_R_TTL_TOO_LONG);
	}
	if (ttl == 0)
		ttl = remaining;
	if (ttl > remaining)
		return (BATON_R_TTL_TOO_LONG);

	if (r->has_grants &&
	    (rc = check_grants_subset(parent, &peff, &r->grants)) != BATON_R_OK)
		return (rc);

	if (r->has_aud && peff.has_aud) {
		for (i = 0; i < r->naud; i++) {
			if (!str_in(r->aud[i], peff.aud, peff.naud))
				return (BATON_R_WIDEN_AUDIENCE);
		}
	}

	/* the child itself uses one level of what is left */
	if (r->has_max_depth && r->max_depth > peff.depth_left - 1)
		return (BATON_R_WIDEN_DEPTH);

	child->version = BATON_VERSION;
	memcpy(child->jti, newjti, BATON_JTI_LEN);
	child->iat = now;
	child->exp = now + ttl;
	child->delegator = delegator;
	child->holder = r->holder;
	child->has_aud = r->has_aud;
	child->aud = r->aud;
	child->naud = r->naud;
	child->has_grants = r->has_grants;
	child->grants = r->grants;
	child->has_max_depth = r->has_max_depth;
	child->max_depth = r->max_depth;
	child->single_use = r->single_use || r->kind == BATON_BLOCK_PRESENT;
	child->kind = r->kind;
	/* a block's ctx is mutable, the request's is not: copy the entries */
	if (r->nctx > 0) {
		child->ctx = arena_array(parent, r->nctx, sizeof(*child->ctx));
		if (child->ctx == NULL) {
			memset(child, 0, sizeof(*child));
			return (BATON_R_UNAVAILABLE);
		}
		memcpy(child->ctx, r->ctx, r->nctx * sizeof(*child->ctx));
		child->nctx = r->nctx;
	}
	return (BATON_R_OK);
}
