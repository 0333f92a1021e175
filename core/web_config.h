/* --web.config.file: the web config in force. Lua reads and checks the
 * file (ELX_ENTRY_WEB_CONFIG, in a Lua state of its own); this turns it
 * into a TLS context (tls.c), the users of basic auth (web_auth.c) and the
 * header lines of every response, and reads it again when it or a file it
 * names changes. A file that does not read or check keeps the config before
 * it in force, and the log says why. */
#ifndef ELX_WEB_CONFIG_H
#define ELX_WEB_CONFIG_H

#include <stdint.h>
#include <uv.h>

struct elx_tls_ctx;
struct elx_web_auth;

struct elx_web_config_state;

/* Reads the file at start: every mistake is logged, then -EINVAL. */
int elx_web_config_load(const char *path, uv_loop_t *loop, struct elx_web_config_state **out);

/* Reads the file again if it or a file it names changed since the last
 * look, at most once per second (`now_ms` on any monotonic clock). Returns
 * 1 when what is in force changed (TLS context or headers to hand to the
 * server), else 0. */
int elx_web_config_refresh(struct elx_web_config_state *w, uint64_t now_ms);

/* What is in force: NULL without TLS or headers. */
struct elx_tls_ctx *elx_web_config_tls(const struct elx_web_config_state *w);
const char *elx_web_config_headers(const struct elx_web_config_state *w);
struct elx_web_auth *elx_web_config_auth(const struct elx_web_config_state *w);

void elx_web_config_free(struct elx_web_config_state *w);

#endif
