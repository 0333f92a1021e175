/* The counting table behind event counters: records counted by their label
 * bytes, the bound on distinct label sets, short records, resets. No kernel
 * needed: records are added directly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_counter.h"
#include "check.h"

struct record {
	uint64_t value;
	uint32_t extra; /* beyond the labels: never part of the key */
};

/* The count of the label set `value`, looked up in the batch Lua would see. */
static uint64_t count_of(struct elx_event_counter *c, uint64_t value)
{
	const uint64_t *counts = (const uint64_t *)c->batch.values;

	for (uint32_t i = 0; i < c->batch.count; i++) {
		if (memcmp(c->batch.keys + (size_t)i * c->batch.key_size, &value, sizeof(value)) ==
		    0)
			return counts[i];
	}
	return 0;
}

int main(void)
{
	struct elx_event_counter c;
	struct record r = { 0 };

	CHECK(elx_event_counter_init(&c, "test", sizeof(uint64_t), 4) == 0);
	CHECK(c.nslots == 8);

	/* Equal label bytes count together; bytes past the labels do not matter. */
	for (int i = 0; i < 10; i++) {
		r.value = (uint64_t)(i % 3);
		r.extra = (uint32_t)i;
		elx_event_counter_add(&c, &r, sizeof(r));
	}
	elx_event_counter_read(&c);
	CHECK(c.batch.count == 3);
	CHECK(c.batch.key_size == 8 && c.batch.ncpus == 1 && c.batch.value_stride == 8);
	CHECK(count_of(&c, 0) == 4 && count_of(&c, 1) == 3 && count_of(&c, 2) == 3);
	CHECK(c.batch.lost == 0);

	/* The fourth label set fits, the fifth and sixth are lost, known ones still count. */
	r.value = 3;
	elx_event_counter_add(&c, &r, sizeof(r));
	r.value = 4;
	elx_event_counter_add(&c, &r, sizeof(r));
	r.value = 5;
	elx_event_counter_add(&c, &r, sizeof(r));
	r.value = 0;
	elx_event_counter_add(&c, &r, sizeof(r));
	elx_event_counter_read(&c);
	CHECK(c.batch.count == 4);
	CHECK(count_of(&c, 3) == 1 && count_of(&c, 4) == 0 && count_of(&c, 0) == 5);
	CHECK(c.batch.lost == 2);

	/* A record shorter than the labels is not counted, and counts as lost. */
	elx_event_counter_add(&c, &r, 4);
	elx_event_counter_read(&c);
	CHECK(c.batch.lost == 3 && c.short_records == 1 && count_of(&c, 0) == 5);

	/* A flush forgets the counts, not the lost total (a counter). */
	elx_event_counter_reset(&c);
	elx_event_counter_read(&c);
	CHECK(c.batch.count == 0 && c.batch.lost == 3);
	r.value = 9;
	elx_event_counter_add(&c, &r, sizeof(r));
	elx_event_counter_read(&c);
	CHECK(c.batch.count == 1 && count_of(&c, 9) == 1);

	/* Many distinct keys through a bigger table, every one exactly once. */
	elx_event_counter_stop(&c);
	CHECK(elx_event_counter_init(&c, "big", sizeof(uint64_t), 50000) == 0);
	for (uint64_t v = 0; v < 60000; v++) {
		r.value = v * 2654435761u;
		elx_event_counter_add(&c, &r, sizeof(r));
	}
	elx_event_counter_read(&c);
	CHECK(c.batch.count == 50000 && c.batch.lost == 10000);
	CHECK(count_of(&c, 49999ull * 2654435761u) == 1 &&
	      count_of(&c, 50000ull * 2654435761u) == 0);
	elx_event_counter_stop(&c);

	printf("test_event_counter: all passed\n");
	return 0;
}
