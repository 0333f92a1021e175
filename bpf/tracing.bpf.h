/* Spans from BPF programs, for configs with a `tracing:` section: the
 * record layout that ebpf_exporter's tracing programs use (the same struct
 * and macro names, so they compile unchanged against this header) and the
 * helpers that fill and submit one.
 *
 * A record starts with struct span_base_t, whose fields a config reads with
 * the labels trace_id (16 bytes, hex), parent_span_id (8, hex), span_id (8,
 * hex), span_monotonic_timestamp_ns (8, uint) and span_duration_ns (8, uint),
 * in that order; the program's own fields follow. Ids are host-order u64s:
 * the hex decoder prints their bytes as they lie in memory, so a user-space
 * parent passes its ids as u64s read from its id bytes in host order.
 *
 * Include <vmlinux.h> and <bpf/bpf_helpers.h> first.
 */
#ifndef ELX_TRACING_BPF_H
#define ELX_TRACING_BPF_H

/* The span a kernel span hangs under: its trace and its span id (0: a root
 * span). ebpf_exporter's newest header has a fourth field in it; define
 * ELX_TRACING_PARENT_TAG before including this to get that layout, or use
 * the _tagged types below, which always have it. */
struct span_parent_t {
	u64 trace_id_hi;
	u64 trace_id_lo;
	u64 span_id;
#ifdef ELX_TRACING_PARENT_TAG
	u64 example_userspace_tag;
#endif
};

struct span_base_t {
	struct span_parent_t parent;
	u64 span_id; /* 0: the exporter makes one up */
	u64 span_monotonic_timestamp_ns;
	u64 span_duration_ns;
};

/* The same with one more u64 in the parent, carried from user space along
 * with the ids (a label of its own in the config, after parent_span_id). */
struct span_parent_tagged_t {
	u64 trace_id_hi;
	u64 trace_id_lo;
	u64 span_id;
	u64 example_userspace_tag;
};

struct span_base_tagged_t {
	struct span_parent_tagged_t parent;
	u64 span_id;
	u64 span_monotonic_timestamp_ns;
	u64 span_duration_ns;
};

/* A span that starts now, lasts 0 ns until the program says otherwise, and
 * gets its span id from the exporter unless the program sets one. Ring
 * buffer memory comes uninitialised: every base field is written. */
static __always_inline void fill_span_base(struct span_base_t *span, struct span_parent_t *parent)
{
	span->parent = *parent;
	span->span_id = 0;
	span->span_monotonic_timestamp_ns = bpf_ktime_get_ns();
	span->span_duration_ns = 0;
}

static __always_inline void fill_span_base_tagged(struct span_base_tagged_t *span,
						  struct span_parent_tagged_t *parent)
{
	span->parent = *parent;
	span->span_id = 0;
	span->span_monotonic_timestamp_ns = bpf_ktime_get_ns();
	span->span_duration_ns = 0;
}

/* submit_span(map, type, parent, fill): reserves a `type` (a struct whose
 * first member is `span_base`) in ring buffer `map`, fills its base from
 * `parent`, runs `fill` (statements that see the record as `span`) and
 * submits it. When the ring is full the enclosing program returns 0: the
 * span is lost, as ebpf_exporter's are. `fill` is the rest of the arguments,
 * so a block with commas in it ({ bpf_get_stack(ctx, ...); }) is one. */
#define submit_span(map, type, parent, ...)                                                        \
	type *span = bpf_ringbuf_reserve(map, sizeof(type), 0);                                    \
	if (!span)                                                                                 \
		return 0;                                                                          \
	fill_span_base(&span->span_base, parent);                                                  \
	__VA_ARGS__;                                                                               \
	bpf_ringbuf_submit(span, 0)

#define submit_span_tagged(map, type, parent, ...)                                                 \
	type *span = bpf_ringbuf_reserve(map, sizeof(type), 0);                                    \
	if (!span)                                                                                 \
		return 0;                                                                          \
	fill_span_base_tagged(&span->span_base, parent);                                           \
	__VA_ARGS__;                                                                               \
	bpf_ringbuf_submit(span, 0)

#endif
