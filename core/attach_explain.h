/* Why a program could not attach, in words an operator can act on: what
 * this kernel or machine lacks, or what is wrong with the target. */
#ifndef ELX_ATTACH_EXPLAIN_H
#define ELX_ATTACH_EXPLAIN_H

/* A hint for a program of SEC(`section`) that failed to attach with `ret`
 * (-errno), or NULL when there is nothing to add; malloc'd. */
char *elx_attach_explain(const char *section, int ret);

/* Non-NULL (a static string) when this kernel cannot load the program of
 * SEC(`section`) at all, saying why: fentry/fexit without BPF trampolines.
 * Asks the kernel (a program load) for those sections only. */
const char *elx_attach_unsupported(const char *section);

#endif
