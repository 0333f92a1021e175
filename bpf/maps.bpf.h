/* Map and histogram helpers for BPF programs whose maps ebpf-lua-exporter
 * exports. The names and semantics are the ones ebpf_exporter's programs call,
 * so those programs compile against this header unchanged.
 *
 * Include <vmlinux.h> (or <linux/types.h>) before this header.
 *
 * Counter and histogram maps hold u64 values. Histogram keys are a struct with
 * a `bucket` member as its last field, for example:
 *
 *	struct latency_key {
 *		__u32 dev;
 *		__u8 op;
 *		__u8 pad[3];
 *		__u64 bucket;
 *	};
 *
 * and the kernel side keeps the sum of observed values at bucket max_bucket + 1,
 * which is where the exporter reads it from.
 */
#ifndef __ELX_MAPS_BPF_H
#define __ELX_MAPS_BPF_H

#include <bpf/bpf_helpers.h>
#include "bits.bpf.h"

/* Returns the value of key, inserting a copy of *init first if key is absent;
 * NULL only when the map is full. Two CPUs may race to insert the same key:
 * BPF_NOEXIST makes the loser's update fail harmlessly, and its second lookup
 * finds the winner's value, so no increment is lost to an overwrite.
 */
static __always_inline void *elx_lookup_or_init(void *map, const void *key, const void *init)
{
	void *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* lookup_or_zero_init_key(map, key, into): point `into` at the value of *key,
 * creating a zeroed value first when the key is absent. When that fails (the
 * map is full) it returns 0 from the calling function, like ebpf_exporter's
 * macro of the same name, so use it in functions that return an integer.
 *
 *	map:  pointer to the map, e.g. &my_map
 *	key:  pointer to the key
 *	into: a typed pointer variable (u64 *, struct foo *); its pointee type
 *	      sizes the zero value, so it cannot be void *.
 */
#define lookup_or_zero_init_key(map, key, into)                                                    \
	do {                                                                                       \
		__typeof__(*(into)) __elx_zero;                                                    \
		__builtin_memset(&__elx_zero, 0, sizeof(__elx_zero));                              \
		(into) = elx_lookup_or_init((map), (key), &__elx_zero);                            \
		if (!(into))                                                                       \
			return 0;                                                                  \
	} while (0)

/* read_array_ptr(map, key, into): point `into` at the value of *key in an
 * ARRAY or PERCPU_ARRAY map, returning 0 from the calling function when the
 * index is out of range. Arrays are preallocated, so an in-range index always
 * has a value and nothing needs creating.
 *
 *	map:  pointer to the array map
 *	key:  pointer to a __u32 index
 *	into: pointer variable that receives the value's address
 */
#define read_array_ptr(map, key, into)                                                             \
	do {                                                                                       \
		(into) = bpf_map_lookup_elem((map), (key));                                        \
		if (!(into))                                                                       \
			return 0;                                                                  \
	} while (0)

/* Adds increment to the u64 value at *key, creating it at 0 first. The add is
 * atomic because HASH and ARRAY values are shared by every CPU. Returns the
 * value just after the add (another CPU may have added since), or 0 when the
 * key could not be created because the map is full.
 */
static __always_inline __u64 increment_map(void *map, void *key, __u64 increment)
{
	__u64 *count;

	lookup_or_zero_init_key(map, key, count);
	/* The return value is not used: clang only emits a fetching atomic
	 * for -mcpu=v3, and a plain atomic add works on every BPF target.
	 */
	__sync_fetch_and_add(count, increment);
	return *count;
}

/* increment_map for per-CPU maps (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH):
 * each CPU owns its slot and BPF programs do not migrate mid-run, so a plain
 * add is safe and avoids the atomic's cost on hot paths.
 */
static __always_inline __u64 increment_map_nosync(void *map, void *key, __u64 increment)
{
	__u64 *count;

	lookup_or_zero_init_key(map, key, count);
	*count += increment;
	return *count;
}

/* The exp2 bucket of v: ceil(log2(v)), with 0 and 1 both in bucket 0. Bucket i
 * then holds values in (2^(i-1), 2^i], exactly what the exporter exports as
 * le = 2^i. For v >= 2, ceil(log2(v)) == floor(log2(v - 1)) + 1.
 */
static __always_inline __u64 log2l_histogram(__u64 v)
{
	if (v <= 1)
		return 0;
	return log2l(v - 1) + 1;
}

/* The exp2zero bucket of v: 0 holds only v == 0, then bucket i (i >= 1) holds
 * (2^(i-2), 2^(i-1)], exported as le = 2^(i-1). That keeps zeros apart from
 * ones, which exp2 lumps together.
 */
static __always_inline __u64 elx_exp2zero_bucket(__u64 v)
{
	if (v == 0)
		return 0;
	return log2l_histogram(v) + 1;
}

/* Shared body of the histogram macros: clamp the bucket to max_bucket, count
 * one observation there, then add the value to the sum at max_bucket + 1. A
 * zero value leaves the sum alone, so no sum key is created just for zeros.
 * Each argument is evaluated once.
 */
#define __elx_increment_histogram(map, key, value, max_bucket, bucket_fn, increment_fn)            \
	do {                                                                                       \
		__u64 __elx_value = (value);                                                       \
		__u64 __elx_max = (max_bucket);                                                    \
		__u64 __elx_bucket = bucket_fn(__elx_value);                                       \
                                                                                                   \
		if (__elx_bucket > __elx_max)                                                      \
			__elx_bucket = __elx_max;                                                  \
		(key).bucket = __elx_bucket;                                                       \
		increment_fn((map), &(key), 1);                                                    \
		if (__elx_value > 0) {                                                             \
			(key).bucket = __elx_max + 1;                                              \
			increment_fn((map), &(key), __elx_value);                                  \
		}                                                                                  \
	} while (0)

/* increment_exp2_histogram(map, key, value, max_bucket): observe `value` in an
 * exp2 histogram (YAML bucket_type: exp2, bucket_max: max_bucket).
 *
 *	map:        pointer to a HASH (or LRU_HASH) map with u64 values
 *	key:        a key struct VARIABLE (not a pointer) with a `bucket` member;
 *	            the caller fills the other members, the macro sets bucket
 *	value:      the observed u64 value; a negative signed value converts to
 *	            a huge one, so check the sign before calling
 *	max_bucket: the largest bucket index, the YAML bucket_max; larger
 *	            values are counted there
 *
 * Bucket is log2l_histogram(value). Leaves key.bucket at max_bucket + 1 when
 * value > 0. When the map is full the observation is dropped; the caller goes on.
 */
#define increment_exp2_histogram(map, key, value, max_bucket)                                      \
	__elx_increment_histogram(map, key, value, max_bucket, log2l_histogram, increment_map)

/* increment_exp2_histogram for per-CPU maps: plain adds instead of atomics. */
#define increment_exp2_histogram_nosync(map, key, value, max_bucket)                               \
	__elx_increment_histogram(map, key, value, max_bucket, log2l_histogram,                    \
				  increment_map_nosync)

/* increment_exp2zero_histogram(map, key, value, max_bucket): like
 * increment_exp2_histogram for a bucket_type: exp2zero histogram, whose bucket
 * 0 holds only zeros and bucket i >= 1 is ceil(log2(value)) + 1.
 */
#define increment_exp2zero_histogram(map, key, value, max_bucket)                                  \
	__elx_increment_histogram(map, key, value, max_bucket, elx_exp2zero_bucket, increment_map)

/* increment_exp2zero_histogram for per-CPU maps: plain adds instead of atomics. */
#define increment_exp2zero_histogram_nosync(map, key, value, max_bucket)                           \
	__elx_increment_histogram(map, key, value, max_bucket, elx_exp2zero_bucket,                \
				  increment_map_nosync)

#endif /* __ELX_MAPS_BPF_H */
