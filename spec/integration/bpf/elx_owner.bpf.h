/* Which calls of elx_test_hit(value, owner) a test object counts: only those
 * whose owner argument is the id of the object's own elx_owner map. Every
 * copy of an object loaded anywhere on the machine has its own map, with an
 * id no other map has, so a spec counts exactly the calls it made for the
 * exporter under test: never those of another exporter with the same
 * objects, nor those of another run of elx-test-target (the uprobes fire for
 * every process that runs it). The specs find the id among the exporter's
 * own file descriptors (spec/helpers/exporter.lua, owner_tags).
 *
 * The map holds nothing: only its id, which the program reads from the
 * kernel's struct bpf_map (a read-only access the verifier allows on a map
 * pointer, relocated by CO-RE). */
#ifndef ELX_OWNER_BPF_H
#define ELX_OWNER_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} elx_owner SEC(".maps");

static __always_inline bool elx_owned(u64 owner)
{
	return owner == ((struct bpf_map *)&elx_owner)->id;
}

#endif
