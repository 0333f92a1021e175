/* Basic auth of the web config's basic_auth_users: bcrypt through the
 * system's crypt (libxcrypt), run on libuv's thread pool so that a client
 * guessing passwords never holds the loop, and outcomes cached by a SHA-256
 * of user, password and hash (OpenSSL) so that a scraper with the right
 * password pays bcrypt once. */
#ifndef ELX_WEB_AUTH_H
#define ELX_WEB_AUTH_H

#include <stddef.h>
#include <uv.h>

#include "abi.h" /* struct elx_web_user */

enum elx_web_auth_result {
	ELX_AUTH_OK,
	ELX_AUTH_DENIED, /* no credentials, malformed ones, or known to be wrong */
	ELX_AUTH_VERIFY, /* not known yet: elx_web_auth_verify */
};

struct elx_web_auth;

int elx_web_auth_new(uv_loop_t *loop, struct elx_web_auth **out);

/* Whoever holds a pending verification gets -ECANCELED; the memory goes
 * when the last of them is done. */
void elx_web_auth_free(struct elx_web_auth *a);

/* The users from now on (copied): outcomes cached for others are forgotten.
 * 0 or -ENOMEM (then the users before stay). */
int elx_web_auth_set_users(struct elx_web_auth *a, const struct elx_web_user *users, size_t n);

/* Whether any user is configured: without users, everyone may pass. */
int elx_web_auth_enabled(const struct elx_web_auth *a);

/* What the cache knows of an Authorization header (NULL: none sent). */
enum elx_web_auth_result elx_web_auth_check(struct elx_web_auth *a, const char *authorization);

/* Runs bcrypt for the header on the thread pool; done(arg, 1 or 0) comes on
 * the loop, or done(arg, -ECANCELED) when the auth is freed first. Returns
 * 0, or -EBUSY when too many verifications are under way (then done is
 * never called), or -ENOMEM. */
int elx_web_auth_verify(struct elx_web_auth *a, const char *authorization,
			void (*done)(void *arg, int ok), void *arg);

#endif
