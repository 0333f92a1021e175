/* libbpf's messages, in our log; and the first warning of an operation,
 * kept so that its failure can say what libbpf found wrong. */
#ifndef ELX_LIBBPF_LOG_H
#define ELX_LIBBPF_LOG_H

/* Routes libbpf's messages to our log: warnings as warnings, the rest as
 * debug lines (its info lines are about its own feature probing). */
void elx_libbpf_log_setup(void);

/* libbpf says nothing more, to our log or anywhere; the first warning of
 * an operation is still kept (for a child process that reports it). */
void elx_libbpf_log_silence(void);

/* Forgets the warning kept so far: call before an operation whose failure
 * should name libbpf's reason. */
void elx_libbpf_reason_clear(void);

/* The first warning libbpf printed since the last clear, without its
 * "libbpf: " prefix and newline, or NULL. */
const char *elx_libbpf_reason(void);

/* Why libbpf failed with `ret` (-errno or one of its own codes): the first
 * warning since the last clear, else its text for the code (strerror does
 * not know libbpf's). A static string. */
const char *elx_libbpf_why(int ret);

#endif
