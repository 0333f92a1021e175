/* --capabilities.keep: the process's capabilities after every program is
 * attached: "all" (keep them), "none", or a list like cap_syslog,cap_bpf. */
#ifndef ELX_CAPS_H
#define ELX_CAPS_H

/* Checks the flag's value; on error *err names the bad entry (malloc'd). */
int elx_caps_check(const char *keep, char **err);

/* Makes the permitted and effective sets exactly the listed capabilities
 * (and clears the inheritable ones). Returns 0 or -errno with *err set. */
int elx_caps_keep(const char *keep, char **err);

#endif
