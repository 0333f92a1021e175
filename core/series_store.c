/* A metric's series and its keys' label cache, outside every Lua state
 * (see struct elx_series_store in abi.h). Lua decodes a key once and hands
 * the store the series text and the entry its kind made of it; later scrapes
 * find the entry here, for a whole batch in one call. Stores are registered
 * by fingerprint, so the Lua state of a reload's configuration opens the
 * very store the running one fills, and scrapes warm from the first time.
 *
 * Keys live in open-addressing tables (linear probing), one per lane (CPU);
 * series texts in one arena, deduplicated through a second such table of
 * ids. Keys that stop appearing go in a sweep at the start of a scrape, and
 * their series with them, so that keys that churn keep memory flat. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

struct lane {
	uint8_t *keys;	   /* cap slots of key_size bytes */
	double *entries;   /* slot -> its kind's entry */
	uint32_t *ids;	   /* slot -> the series it holds, or 0 */
	uint32_t *seen;	   /* slot -> the scrape that last saw it; 0: empty */
	uint32_t key_size; /* 0 until the first use */
	uint32_t cap;	   /* a power of two, or 0 */
	uint32_t n;	   /* keys */
	uint32_t nskips;   /* of which dropped rows */
	uint8_t *dropped;  /* slot -> 1 for a dropped row */
};

struct elx_series_private {
	char *fingerprint; /* NULL: not registered */
	int refs;
	struct elx_series_store *next; /* in the registry */
	struct lane *lanes;
	uint32_t nlanes;
	uint32_t max_keys, max_skips;
	uint32_t *hashes;   /* id -> hash of its text */
	uint32_t *key_refs; /* id -> keys holding it */
	uint8_t *live;	    /* id -> 1 when handed out */
	uint32_t *free_ids; /* a stack of ids to hand out again */
	uint32_t nfree;
	uint32_t *index; /* text index: slots of ids, 0 empty */
	uint32_t index_cap;
	uint32_t seen_now;	/* keys seen in the scrape under way */
	uint8_t *overflow_text; /* elx_series_store_limit's, or NULL */
	uint32_t overflow_len;
	uint32_t overflow_extra; /* 1: overflow_id was made past the bound, not a place */
	uint64_t garbage;	 /* arena bytes of freed series */
};

/* Tables of any size (not powers of two: 100,000 keys would take 262,144
 * slots), slot = hash * cap / 2^32, at most 80% full; arrays grow by half. */
#define MAX_LOAD(cap) ((uint64_t)(cap)*4 / 5)
#define GROWN(n)      ((n) < 64 ? 64 : (n) + (n) / 2)
#define SLOT(h, cap)  ((uint32_t)(((uint64_t)(uint32_t)(h) * (cap)) >> 32))
#define NEXT(i, cap)  ((i) + 1 == (cap) ? 0 : (i) + 1)

static struct elx_series_store *registry;

/* 64-bit words mixed in, then a final avalanche: keys are often small
 * integers in host order, which a plain multiply would spread badly. */
static uint64_t hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* Not zeroed: new_id sets every field of an id before anything reads it,
 * and pages never written stay out of our RSS. */
static int grow_array(void **p, size_t elem, uint32_t cap)
{
	void *grown = realloc(*p, (size_t)cap * elem);

	if (!grown)
		return -ENOMEM;
	*p = grown;
	return 0;
}

/* Room for ids below cap in every id array. */
static int grow_ids(struct elx_series_store *s, uint32_t cap)
{
	struct elx_series_private *p = s->priv;

	if (grow_array((void **)&s->text_at, 4, cap) || grow_array((void **)&s->text_len, 4, cap) ||
	    grow_array((void **)&s->gens, 4, cap) || grow_array((void **)&s->slots, 4, cap) ||
	    grow_array((void **)&p->hashes, 4, cap) || grow_array((void **)&p->key_refs, 4, cap) ||
	    grow_array((void **)&p->live, 1, cap) || grow_array((void **)&p->free_ids, 4, cap))
		return -ENOMEM;
	s->capacity = cap;
	return 0;
}

static void index_insert(struct elx_series_private *p, uint32_t id)
{
	uint32_t i = SLOT(p->hashes[id], p->index_cap);

	while (p->index[i])
		i = NEXT(i, p->index_cap);
	p->index[i] = id;
}

/* The text index anew, with cap slots, from the live ids. */
static int rebuild_index(struct elx_series_store *s, uint32_t cap)
{
	struct elx_series_private *p = s->priv;
	uint32_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	free(p->index);
	p->index = index;
	p->index_cap = cap;
	for (uint32_t id = 1; id <= s->nids; id++)
		if (p->live[id])
			index_insert(p, id);
	return 0;
}

static int arena_room(struct elx_series_store *s, uint32_t len)
{
	uint64_t size = s->arena_size ? s->arena_size : 4096;

	while (s->arena_used + len > size)
		size = GROWN(size);
	if (size != s->arena_size) {
		uint8_t *grown = realloc(s->arena, size);

		if (!grown)
			return -ENOMEM;
		s->arena = grown;
		s->arena_size = size;
	}
	return 0;
}

/* A new id for a text of hash h, its text copied into the arena. */
static uint32_t new_id(struct elx_series_store *s, const uint8_t *text, uint32_t len, uint32_t h)
{
	struct elx_series_private *p = s->priv;
	uint32_t id;

	if (arena_room(s, len) < 0)
		return 0;
	if (s->nseries + 1 > MAX_LOAD(p->index_cap) && rebuild_index(s, GROWN(p->index_cap)) < 0)
		return 0;
	if (p->nfree) {
		id = p->free_ids[--p->nfree];
	} else {
		if (s->nids + 1 >= s->capacity && grow_ids(s, GROWN(s->capacity)) < 0)
			return 0;
		id = ++s->nids;
	}
	memcpy(s->arena + s->arena_used, text, len);
	s->text_at[id] = (uint32_t)s->arena_used, s->text_len[id] = len;
	s->arena_used += len;
	s->gens[id] = 0, p->key_refs[id] = 0, p->hashes[id] = h, p->live[id] = 1;
	s->nseries++;
	index_insert(p, id);
	return id;
}

/* The id of a text of hash h, or 0 when it has none. */
static uint32_t known_id(struct elx_series_store *s, const uint8_t *text, uint32_t len, uint32_t h)
{
	struct elx_series_private *p = s->priv;
	uint32_t cap = p->index_cap;

	if (cap)
		for (uint32_t i = SLOT(h, cap), id; (id = p->index[i]); i = NEXT(i, cap))
			if (p->hashes[id] == h && s->text_len[id] == len &&
			    memcmp(s->arena + s->text_at[id], text, len) == 0)
				return id;
	return 0;
}

/* The overflow series' id, made when first needed; a label set whose text
 * is the overflow text already is that series (one text, one line). */
static uint32_t overflow_id(struct elx_series_store *s)
{
	struct elx_series_private *p = s->priv;

	if (!s->overflow_id) {
		uint32_t h = (uint32_t)hash_bytes(p->overflow_text, p->overflow_len);
		uint32_t id = known_id(s, p->overflow_text, p->overflow_len, h);

		/* A label set that read overflow before the bound holds a place. */
		p->overflow_extra = !id;
		s->overflow_id = id ? id : new_id(s, p->overflow_text, p->overflow_len, h);
	}
	return s->overflow_id;
}

ELX_EXPORT uint32_t elx_series_store_id(struct elx_series_store *s, const uint8_t *text,
					uint32_t len)
{
	uint32_t h = (uint32_t)hash_bytes(text, len);
	uint32_t id = known_id(s, text, len, h);

	if (id)
		return id;
	/* The overflow series made past the bound does not count. */
	if (s->max_series &&
	    s->nseries - (s->overflow_id && s->priv->overflow_extra) >= s->max_series)
		return overflow_id(s);
	return new_id(s, text, len, h);
}

ELX_EXPORT int elx_series_store_limit(struct elx_series_store *s, uint32_t max_series,
				      const uint8_t *overflow_text, uint32_t len)
{
	struct elx_series_private *p = s->priv;
	uint8_t *copy;

	s->max_series = max_series;
	if (p->overflow_text && p->overflow_len == len &&
	    memcmp(p->overflow_text, overflow_text, len) == 0)
		return 0; /* the same text every scrape: nothing to copy */
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, overflow_text, len);
	free(p->overflow_text);
	p->overflow_text = copy, p->overflow_len = len;
	s->overflow_id = 0; /* another text: another series */
	return 0;
}

static struct lane *lane_of(struct elx_series_store *s, uint32_t lane)
{
	struct elx_series_private *p = s->priv;

	if (lane >= p->nlanes) {
		struct lane *grown = realloc(p->lanes, (size_t)(lane + 1) * sizeof(*grown));

		if (!grown)
			return NULL;
		memset(grown + p->nlanes, 0, (size_t)(lane + 1 - p->nlanes) * sizeof(*grown));
		p->lanes = grown;
		p->nlanes = lane + 1;
	}
	return &p->lanes[lane];
}

static void free_lane(struct lane *l)
{
	free(l->keys), free(l->entries), free(l->ids), free(l->seen), free(l->dropped);
	memset(l, 0, sizeof(*l));
}

/* Keys of 8 bytes (the common u64 key) compare as one word. */
static inline int key_equal(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y;

	if (n != 8)
		return memcmp(a, b, n) == 0;
	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return x == y;
}

/* The slot of key, or the empty slot where it would go, probing from slot i. */
static uint32_t lane_probe(const struct lane *l, const uint8_t *key, uint32_t i)
{
	while (l->seen[i] && !key_equal(l->keys + (size_t)i * l->key_size, key, l->key_size))
		i = NEXT(i, l->cap);
	return i;
}

/* The slot of key, or the empty slot where it would go. */
static uint32_t lane_slot(const struct lane *l, const uint8_t *key, uint64_t h)
{
	uint32_t i = SLOT(h, l->cap);

	while (l->seen[i] && !key_equal(l->keys + (size_t)i * l->key_size, key, l->key_size))
		i = NEXT(i, l->cap);
	return i;
}

static void lane_set(struct lane *l, uint32_t i, const uint8_t *key, double entry, uint32_t id,
		     uint32_t seen, uint8_t dropped)
{
	memcpy(l->keys + (size_t)i * l->key_size, key, l->key_size);
	l->entries[i] = entry;
	l->ids[i] = id;
	l->seen[i] = seen;
	l->dropped[i] = dropped;
	l->nskips += dropped;
	l->n++;
}

/* The lane's keys in a table of cap slots, those not seen since scrape
 * `oldest` left out (and their series' references dropped). */
static int lane_rehash(struct elx_series_store *s, struct lane *l, uint32_t cap, uint32_t oldest)
{
	struct lane old = *l;

	l->cap = cap, l->n = 0, l->nskips = 0;
	l->keys = malloc((size_t)cap * l->key_size);
	l->entries = malloc((size_t)cap * sizeof(double));
	l->ids = malloc((size_t)cap * sizeof(uint32_t));
	l->seen = calloc(cap, sizeof(uint32_t));
	l->dropped = malloc(cap);
	if (!l->keys || !l->entries || !l->ids || !l->seen || !l->dropped) {
		free_lane(l);
		*l = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < old.cap; i++) {
		const uint8_t *key = old.keys + (size_t)i * old.key_size;

		if (!old.seen[i])
			continue;
		if (old.seen[i] < oldest) {
			if (old.ids[i])
				s->priv->key_refs[old.ids[i]]--;
			continue;
		}
		lane_set(l, lane_slot(l, key, hash_bytes(key, l->key_size)), key, old.entries[i],
			 old.ids[i], old.seen[i], old.dropped[i]);
	}
	free(old.keys), free(old.entries), free(old.ids), free(old.seen), free(old.dropped);
	return 0;
}

/* Slots for n keys: 75% full. */
static uint32_t slots_for(uint64_t n)
{
	return n < 48 ? 64 : (uint32_t)(n + n / 3);
}

/* Room, before the misses are put one by one, for n more keys on the lane and
 * as many series: one rehash rather than one per doubling. Best effort. */
static void reserve(struct elx_series_store *s, uint32_t lane, uint32_t key_size, uint32_t n)
{
	struct elx_series_private *p = s->priv;
	struct lane *l = lane_of(s, lane);

	if (!l || (l->key_size && l->key_size != key_size))
		return;
	l->key_size = key_size;
	if (MAX_LOAD(l->cap) < (uint64_t)l->n + n &&
	    lane_rehash(s, l, slots_for((uint64_t)l->n + n), 0) < 0)
		return;
	if (MAX_LOAD(p->index_cap) < (uint64_t)s->nseries + n &&
	    rebuild_index(s, slots_for((uint64_t)s->nseries + n)) < 0)
		return;
	n = n > p->nfree ? n - p->nfree : 0; /* freed ids come back first */
	if ((uint64_t)s->nids + n + 1 > s->capacity)
		grow_ids(s, s->nids + n + 1 + (s->nids + n) / 16);
}

#define AHEAD 8

/* A key's home slot, whose memory is asked for now and used later. */
static uint32_t prefetched_home(const struct lane *l, const uint8_t *key)
{
	uint32_t i = SLOT(hash_bytes(key, l->key_size), l->cap);

	__builtin_prefetch(&l->seen[i], 1);
	__builtin_prefetch(l->keys + (size_t)i * l->key_size);
	__builtin_prefetch(&l->entries[i]);
	return i;
}

ELX_EXPORT uint32_t elx_series_store_find(struct elx_series_store *s, uint32_t lane,
					  const uint8_t *keys, uint32_t count, uint32_t key_size,
					  double *entries, uint32_t *misses)
{
	struct lane *l = lane < s->priv->nlanes ? &s->priv->lanes[lane] : NULL;
	uint32_t nmiss = 0, gen = s->gen, seen = 0;

	if (!l || !l->cap || l->key_size != key_size) {
		for (uint32_t i = 0; i < count; i++)
			entries[i] = -1, misses[i] = i;
		reserve(s, lane, key_size, count);
		return count;
	}
	/* A key's home slot is found AHEAD keys before it is probed, and its
	 * memory fetched meanwhile: the table is larger than the caches, and
	 * the three misses of each key (seen, keys, entries) overlap with the
	 * work on the keys before it. */
	uint32_t home[AHEAD];

	for (uint32_t i = 0; i < count && i < AHEAD; i++)
		home[i] = prefetched_home(l, keys + (size_t)i * key_size);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *key = keys + (size_t)i * key_size;
		uint32_t slot = lane_probe(l, key, home[i % AHEAD]);

		if (i + AHEAD < count)
			home[i % AHEAD] = prefetched_home(l, key + (size_t)AHEAD * key_size);
		if (l->seen[slot]) {
			entries[i] = l->entries[slot];
			seen += l->seen[slot] != gen;
			l->seen[slot] = gen;
		} else {
			entries[i] = -1, misses[nmiss++] = i;
		}
	}
	s->priv->seen_now += seen;
	if (nmiss > 64)
		reserve(s, lane, key_size, nmiss);
	return nmiss;
}

ELX_EXPORT int elx_series_store_put(struct elx_series_store *s, uint32_t lane, const uint8_t *key,
				    uint32_t key_size, double entry, uint32_t id, int dropped)
{
	struct elx_series_private *p = s->priv;
	struct lane *l = lane_of(s, lane);
	uint32_t slot;

	if (!l)
		return -ENOMEM;
	if (l->key_size != key_size) { /* first use */
		for (uint32_t i = 0; i < l->cap; i++)
			if (l->seen[i] && l->ids[i])
				p->key_refs[l->ids[i]]--;
		s->nkeys -= l->n;
		free_lane(l);
		l->key_size = key_size;
	}
	if (dropped ? l->nskips >= p->max_skips : l->n - l->nskips >= p->max_keys)
		return -ENOSPC;
	if (l->n + 1 > MAX_LOAD(l->cap) && lane_rehash(s, l, GROWN(l->cap), 0) < 0)
		return -ENOMEM;
	slot = lane_slot(l, key, hash_bytes(key, key_size));
	if (l->seen[slot]) { /* put again: the entry changes */
		if (l->ids[slot])
			p->key_refs[l->ids[slot]]--;
		l->n--, s->nkeys--, l->nskips -= l->dropped[slot];
	} else {
		p->seen_now++;
	}
	lane_set(l, slot, key, entry, id, s->gen, dropped != 0);
	s->nkeys++;
	if (id)
		p->key_refs[id]++;
	return 0;
}

/* Series texts moved together, leaving out what freed series held. */
static int compact_arena(struct elx_series_store *s)
{
	uint64_t live = s->arena_used - s->priv->garbage, used = 0;
	uint64_t size = live + live / 4 > 4096 ? live + live / 4 : 4096; /* room for new series */
	uint8_t *arena = malloc(size);

	if (!arena)
		return -ENOMEM;
	for (uint32_t id = 1; id <= s->nids; id++) {
		if (!s->priv->live[id])
			continue;
		memcpy(arena + used, s->arena + s->text_at[id], s->text_len[id]);
		s->text_at[id] = (uint32_t)used;
		used += s->text_len[id];
	}
	free(s->arena);
	s->arena = arena;
	s->arena_used = used;
	s->arena_size = size;
	s->priv->garbage = 0;
	return 0;
}

/* What the arena holds past its texts and a sixteenth more goes back, once
 * it is a quarter of them: a scrape that added many series grew it by half. */
static void shrink_arena(struct elx_series_store *s)
{
	uint64_t size = s->arena_used + s->arena_used / 16 + 4096;
	uint8_t *shrunk;

	if (s->arena_size - s->arena_used <= s->arena_used / 4 + 4096)
		return;
	shrunk = realloc(s->arena, size);
	if (shrunk) {
		s->arena = shrunk;
		s->arena_size = size;
	}
}

/* Keys not seen since scrape `oldest` go; then series that no key holds and
 * that no scrape since then visited. */
/* Whether slot k's home h lies cyclically in (i, j]: then the entry at j
 * cannot move back to i without falling before its home. */
static int home_between(uint32_t h, uint32_t i, uint32_t j)
{
	return i <= j ? (i < h && h <= j) : (i < h || h <= j);
}

/* Empties lane slot i, moving later entries of its run back (linear
 * probing's deletion: no tombstones). */
static void lane_delete(struct lane *l, uint32_t i)
{
	for (uint32_t j = NEXT(i, l->cap); l->seen[j]; j = NEXT(j, l->cap)) {
		const uint8_t *key = l->keys + (size_t)j * l->key_size;

		if (home_between(SLOT(hash_bytes(key, l->key_size), l->cap), i, j))
			continue;
		lane_set(l, i, key, l->entries[j], l->ids[j], l->seen[j], l->dropped[j]);
		l->n--, l->nskips -= l->dropped[j];
		i = j;
	}
	l->seen[i] = 0;
}

/* Keys of the lane not seen since scrape `oldest` go, in place. A slot
 * that took a later entry is looked at again. */
static void lane_sweep(struct elx_series_store *s, struct lane *l, uint32_t oldest)
{
	for (uint32_t i = 0; i < l->cap;) {
		if (!l->seen[i] || l->seen[i] >= oldest) {
			i++;
			continue;
		}
		if (l->ids[i])
			s->priv->key_refs[l->ids[i]]--;
		l->n--, l->nskips -= l->dropped[i];
		lane_delete(l, i);
	}
}

/* Takes id out of the text index, moving later ids of its run back. */
static void index_delete(struct elx_series_private *p, uint32_t id)
{
	uint32_t cap = p->index_cap, i = SLOT(p->hashes[id], cap);

	while (p->index[i] != id)
		i = NEXT(i, cap);
	for (uint32_t j = NEXT(i, cap), other; (other = p->index[j]); j = NEXT(j, cap)) {
		if (home_between(SLOT(p->hashes[other], cap), i, j))
			continue;
		p->index[i] = other;
		i = j;
	}
	p->index[i] = 0;
}

/* Keys not seen since scrape `oldest` go, then series that no key holds and
 * that no scrape since then visited; their ids are handed out again. */
static void sweep(struct elx_series_store *s, uint32_t oldest)
{
	struct elx_series_private *p = s->priv;

	s->nkeys = 0;
	for (uint32_t i = 0; i < p->nlanes; i++) {
		struct lane *l = &p->lanes[i];

		lane_sweep(s, l, oldest);
		if (l->cap > 1024 && l->cap > 4 * (uint64_t)slots_for(l->n)) /* most keys went */
			lane_rehash(s, l, slots_for(l->n), 0);
		s->nkeys += l->n;
	}
	for (uint32_t id = 1; id <= s->nids; id++) {
		if (!p->live[id] || p->key_refs[id] || s->gens[id] >= oldest)
			continue;
		index_delete(p, id);
		if (id == s->overflow_id)
			s->overflow_id = 0;
		p->live[id] = 0, p->garbage += s->text_len[id];
		p->free_ids[p->nfree++] = id;
		s->nseries--;
	}
	if (p->garbage > s->arena_used / 4)
		compact_arena(s);
}

ELX_EXPORT void elx_series_store_begin(struct elx_series_store *s)
{
	struct elx_series_private *p = s->priv;
	uint32_t seen = p->seen_now, stale = s->nkeys > seen ? s->nkeys - seen : 0;
	uint32_t unheld = 0;

	/* Series no key holds (uncached ones, or their keys went past the bound)
	 * are counted only when the keys give no reason to sweep already. */
	if (stale <= seen / 8 + 64)
		for (uint32_t id = 1; id <= s->nids && unheld <= s->nseries / 4 + 64; id++)
			unheld += p->live[id] && !p->key_refs[id] && s->gens[id] != s->gen;
	s->gen++;
	p->seen_now = 0;
	shrink_arena(s);
	if (stale > seen / 8 + 64 || unheld > s->nseries / 4 + 64)
		sweep(s, s->gen - 1);
}

ELX_EXPORT void elx_series_store_bound(struct elx_series_store *s, uint32_t max_keys,
				       uint32_t max_skips)
{
	s->priv->max_keys = max_keys, s->priv->max_skips = max_skips;
}

static void unregister(struct elx_series_store *s)
{
	for (struct elx_series_store **at = &registry; *at; at = &(*at)->priv->next)
		if (*at == s) {
			*at = s->priv->next;
			break;
		}
	free(s->priv->fingerprint);
	s->priv->fingerprint = NULL;
}

static struct elx_series_store *new_store(const char *fingerprint)
{
	struct elx_series_store *s = calloc(1, sizeof(*s));

	if (!s || !(s->priv = calloc(1, sizeof(*s->priv))))
		goto fail;
	s->gen = 1; /* a key seen at 0 would look empty */
	s->priv->refs = 1;
	s->priv->max_keys = s->priv->max_skips = UINT32_MAX;
	if (grow_ids(s, 64) < 0 || rebuild_index(s, 64) < 0 || arena_room(s, 1) < 0)
		goto fail;
	if (fingerprint) {
		if (!(s->priv->fingerprint = strdup(fingerprint)))
			goto fail;
		s->priv->next = registry;
		registry = s;
	}
	return s;
fail:
	elx_series_store_close(s);
	return NULL;
}

ELX_EXPORT struct elx_series_store *elx_series_store_open(const char *fingerprint, int fresh,
							  int *adopted)
{
	*adopted = 0;
	for (struct elx_series_store *s = fingerprint ? registry : NULL; s; s = s->priv->next) {
		if (strcmp(s->priv->fingerprint, fingerprint) != 0)
			continue;
		if (fresh) {
			unregister(s);
			break;
		}
		s->priv->refs++, s->adopted++;
		*adopted = 1;
		return s;
	}
	return new_store(fingerprint);
}

ELX_EXPORT void elx_series_store_close(struct elx_series_store *s)
{
	struct elx_series_private *p = s ? s->priv : NULL;

	if (!s)
		return;
	if (p && --p->refs > 0)
		return;
	if (p) {
		if (p->fingerprint)
			unregister(s);
		for (uint32_t i = 0; i < p->nlanes; i++)
			free_lane(&p->lanes[i]);
		free(p->lanes), free(p->hashes), free(p->key_refs), free(p->live),
		    free(p->free_ids);
		free(p->index), free(p->overflow_text);
	}
	free(s->arena), free(s->text_at), free(s->text_len), free(s->gens), free(s->slots);
	free(p), free(s);
}
