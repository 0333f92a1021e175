/* The series store: ids by text, keys by lane, the sweep of keys that went
 * away (and of their series, the arena compacted), the bounds, the limit of
 * series (max_series) with its overflow series, and stores shared by
 * fingerprint across the configurations of a reload. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"
#include "check.h"

static uint32_t id_of(struct elx_series_store *s, const char *text)
{
	return elx_series_store_id(s, (const uint8_t *)text, (uint32_t)strlen(text));
}

static const char *text_of(struct elx_series_store *s, uint32_t id, char *out)
{
	memcpy(out, s->arena + s->text_at[id], s->text_len[id]);
	out[s->text_len[id]] = '\0';
	return out;
}

/* Scrape gen: finds keys[0..n), puts the misses as series "k<key>", marks
 * every series visited; returns the misses. */
static uint32_t scrape(struct elx_series_store *s, const uint64_t *keys, uint32_t n)
{
	static double entries[4096];
	static uint32_t misses[4096];
	uint32_t nmiss;

	elx_series_store_begin(s);
	nmiss = elx_series_store_find(s, 0, (const uint8_t *)keys, n, 8, entries, misses);
	for (uint32_t j = 0; j < nmiss; j++) {
		char text[32];
		uint32_t i = misses[j], id;

		snprintf(text, sizeof(text), "k%llu", (unsigned long long)(keys[i] % 1000));
		id = id_of(s, text);
		CHECK(id > 0);
		CHECK_INT(elx_series_store_put(s, 0, (const uint8_t *)&keys[i], 8, id, id, 0), 0);
		entries[i] = id;
	}
	for (uint32_t i = 0; i < n; i++)
		s->gens[(uint32_t)entries[i]] = s->gen;
	return nmiss;
}

static void test_ids_and_keys(void)
{
	int adopted;
	struct elx_series_store *s = elx_series_store_open(NULL, 0, &adopted);
	uint64_t keys[3000];
	double entries[3];
	uint32_t misses[3];
	char buf[64];

	CHECK(s != NULL);
	CHECK_INT(adopted, 0);
	CHECK_INT(id_of(s, "a"), 1);
	CHECK_INT(id_of(s, "bb"), 2);
	CHECK_INT(id_of(s, "a"), 1);
	CHECK_INT(id_of(s, ""), 3);
	CHECK_STR(text_of(s, 2, buf), "bb");
	CHECK_INT(s->nseries, 3);
	/* 3000 keys, 1000 series (key % 1000 names it): equal texts share ids. */
	for (uint32_t i = 0; i < 3000; i++)
		keys[i] = i;
	CHECK_INT(scrape(s, keys, 3000), 3000);
	CHECK_INT(s->nkeys, 3000);
	CHECK_INT(s->nseries, 1003);
	CHECK_INT(scrape(s, keys, 3000), 0);
	/* Lanes are apart: lane 1 knows none of lane 0's keys. */
	CHECK_INT(elx_series_store_find(s, 1, (const uint8_t *)keys, 3, 8, entries, misses), 3);
	CHECK(entries[0] == -1 && misses[2] == 2);
	/* A dropped row: entry 0, no series; past max_skips it is not cached. */
	elx_series_store_bound(s, 5000, 1);
	keys[0] = 99999;
	CHECK_INT(elx_series_store_put(s, 0, (const uint8_t *)&keys[0], 8, 0, 0, 1), 0);
	keys[1] = 99998;
	CHECK_INT(elx_series_store_put(s, 0, (const uint8_t *)&keys[1], 8, 0, 0, 1), -ENOSPC);
	CHECK_INT(elx_series_store_find(s, 0, (const uint8_t *)keys, 2, 8, entries, misses), 1);
	CHECK(entries[0] == 0 && entries[1] == -1);
	elx_series_store_close(s);
}

/* 10% of the keys replaced at each scrape: the store stays the same size. */
static void test_churn(void)
{
	int adopted;
	struct elx_series_store *s = elx_series_store_open(NULL, 0, &adopted);
	static uint64_t keys[2000];
	uint64_t arena_size = 0;
	uint32_t capacity = 0;

	for (uint32_t i = 0; i < 2000; i++)
		keys[i] = i;
	CHECK_INT(scrape(s, keys, 2000), 2000);
	for (uint32_t round = 1; round <= 300; round++) {
		for (uint32_t i = 0; i < 200; i++)
			keys[(round * 200 + i) % 2000] = 2000ULL * round + i + 1000000;
		CHECK_INT(scrape(s, keys, 2000), 200);
		CHECK(s->nkeys <= 2000 + 2000 / 4 + 64 + 200);
		if (round == 100)
			arena_size = s->arena_size, capacity = s->capacity;
	}
	/* Every text is k<key % 1000>: at most 1000 series at once. */
	CHECK(s->nseries <= 1000);
	CHECK_INT(s->arena_size, arena_size);
	CHECK_INT(s->capacity, capacity);
	elx_series_store_close(s);
}

static void test_fingerprints(void)
{
	int adopted;
	struct elx_series_store *a = elx_series_store_open("cfg/m/1", 0, &adopted);
	struct elx_series_store *b, *c, *d;

	CHECK(a != NULL);
	CHECK_INT(adopted, 0);
	CHECK_INT(id_of(a, "x"), 1);
	b = elx_series_store_open("cfg/m/1", 0, &adopted);
	CHECK(b == a);
	CHECK_INT(adopted, 1);
	CHECK_INT(a->adopted, 1);
	c = elx_series_store_open("cfg/m/2", 0, &adopted);
	CHECK(c != a);
	CHECK_INT(adopted, 0);
	/* The old configuration goes: the new one keeps the store. */
	elx_series_store_close(a);
	CHECK_INT(id_of(b, "x"), 1);
	/* fresh: a new store takes the fingerprint; the old lives on until closed. */
	d = elx_series_store_open("cfg/m/1", 1, &adopted);
	CHECK(d != b);
	CHECK_INT(adopted, 0);
	CHECK_INT(d->nseries, 0);
	CHECK(elx_series_store_open("cfg/m/1", 0, &adopted) == d);
	CHECK_INT(adopted, 1);
	elx_series_store_close(d);
	elx_series_store_close(d);
	elx_series_store_close(b);
	elx_series_store_close(c);
	a = elx_series_store_open("cfg/m/1", 0, &adopted);
	CHECK_INT(adopted, 0);
	elx_series_store_close(a);
}

/* Past max_series, new texts get the overflow series' id; known ones keep
 * theirs; the overflow series made past the limit is no place, one that a
 * label set made before it is. */
static void test_limit(void)
{
	const char *o = "{k=\"overflow\"} ";
	struct elx_series_store *s;
	uint64_t keys[3000];
	char buf[64];
	int adopted;

	s = elx_series_store_open(NULL, 0, &adopted);
	CHECK(s != NULL);
	CHECK_INT(elx_series_store_limit(s, 2, (const uint8_t *)o, (uint32_t)strlen(o)), 0);
	CHECK_INT(id_of(s, "a"), 1);
	CHECK_INT(id_of(s, "b"), 2);
	CHECK_INT(s->overflow_id, 0);
	CHECK_INT(id_of(s, "c"), 3);
	CHECK_INT(s->overflow_id, 3);
	CHECK_STR(text_of(s, 3, buf), o);
	CHECK_INT(id_of(s, "d"), 3);
	CHECK_INT(id_of(s, "a"), 1);
	CHECK_INT(id_of(s, o), 3);
	CHECK_INT(s->nseries, 3);
	/* The same text again copies nothing and keeps the overflow series. */
	CHECK_INT(elx_series_store_limit(s, 2, (const uint8_t *)o, (uint32_t)strlen(o)), 0);
	CHECK_INT(s->overflow_id, 3);
	elx_series_store_close(s);

	s = elx_series_store_open(NULL, 0, &adopted);
	CHECK_INT(elx_series_store_limit(s, 1, (const uint8_t *)o, (uint32_t)strlen(o)), 0);
	CHECK_INT(id_of(s, o), 1); /* a label set that reads overflow: a place */
	CHECK_INT(id_of(s, "a"), 1);
	CHECK_INT(s->overflow_id, 1);
	CHECK_INT(s->nseries, 1);
	elx_series_store_close(s);

	/* 3,000 keys, 1,000 texts, limit 10: 10 series and the overflow one. */
	s = elx_series_store_open(NULL, 0, &adopted);
	CHECK_INT(elx_series_store_limit(s, 10, (const uint8_t *)o, (uint32_t)strlen(o)), 0);
	for (uint32_t i = 0; i < 3000; i++)
		keys[i] = i;
	CHECK_INT(scrape(s, keys, 3000), 3000);
	CHECK_INT(s->nseries, 11);
	CHECK_INT(id_of(s, "k5"), 6);
	CHECK_INT(id_of(s, "k500"), s->overflow_id);
	elx_series_store_close(s);
}

int main(void)
{
	test_ids_and_keys();
	test_churn();
	test_limit();
	test_fingerprints();
	return 0;
}
