/* A .bpf.o is opened and loaded in a short-lived child process before the
 * exporter's own libbpf parses it: libbpf 1.1 crashes on some corrupt
 * objects, and a crash there would end every config, not just that one. */
#ifndef ELX_OBJECT_CHECK_H
#define ELX_OBJECT_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* How long a child may take before its object counts as one that hangs
 * libbpf (ms). Loading includes the verifier, slow on big programs. */
extern unsigned elx_object_check_timeout_ms;

/* Test hook: called in the child before it opens the object ("opening")
 * and before it loads it ("loading"), to stand in for a libbpf that
 * crashes or hangs there. */
extern void (*elx_object_check_hook)(const char *phase);

struct bpf_object;

/* Opens `image` (the bytes of `path`, whose hash is `hash`) as the exporter
 * would, with the kernel BTF at btf_path (or NULL), and loads it, in a child.
 * Returns 0 when libbpf got through both without crashing (the load may
 * have failed: the exporter's own load says why), else -errno with *err
 * (malloc'd) saying what happened: libbpf's reason when it could not open
 * the file, or that it crashed or hung on it. Images that passed are
 * remembered by hash and not checked again. */
int elx_object_check(const void *image, size_t len, uint64_t hash, const char *path,
		     const char *btf_path, char **err);

/* Turns off the programs this kernel cannot load (elx_attach_unsupported):
 * the child loads what the exporter will. why[i] (when `why` is not NULL)
 * gets the reason for the i-th program, malloc'd. */
void elx_object_leave_out_unsupported(struct bpf_object *obj, char **why);

#endif
