/* Integer log2 helpers for BPF programs, used to pick exp2 histogram buckets.
 * Include <vmlinux.h> (or <linux/types.h>) first: this header uses __u32/__u64.
 */
#ifndef __ELX_BITS_BPF_H
#define __ELX_BITS_BPF_H

/* libbpf's bpf_helpers.h defines this too; keep this header usable alone. */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* log2 and log2l are also libm's floating point names. Existing programs call
 * these integer versions by those names, and BPF has no libm to clash with.
 */

/* floor(log2(v)) for a 32-bit value, 0 for v == 0. A fixed binary search:
 * five compares, no loop, so the verifier sees straight-line code and the
 * result is bounded by 31 without any extra check.
 */
static __always_inline __u64 log2(__u32 v)
{
	__u64 r = 0;

	if (v >= 1U << 16) {
		v >>= 16;
		r += 16;
	}
	if (v >= 1U << 8) {
		v >>= 8;
		r += 8;
	}
	if (v >= 1U << 4) {
		v >>= 4;
		r += 4;
	}
	if (v >= 1U << 2) {
		v >>= 2;
		r += 2;
	}
	if (v >= 1U << 1)
		r += 1;
	return r;
}

/* floor(log2(v)) for a 64-bit value, 0 for v == 0. */
static __always_inline __u64 log2l(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return log2(hi) + 32;
	return log2((__u32)v);
}

#endif /* __ELX_BITS_BPF_H */
