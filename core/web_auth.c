/* Basic auth (RFC 7617) against bcrypt hashes: see web_auth.h. The hash is
 * computed by crypt_r of libxcrypt, which knows bcrypt's $2a$, $2b$ and $2y$
 * forms, and compared in constant time (CRYPTO_memcmp). A user name that is
 * not configured costs the same bcrypt as one that is, so that timing tells
 * nobody which names exist. */
#define _GNU_SOURCE
#include "web_auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"

/* Outcomes remembered; past it the oldest goes. */
#define CACHE_SIZE 256
/* Verifications under way at once: each costs a thread ~50 ms of CPU. */
#define MAX_PENDING 32
/* An Authorization header is bounded by the request limits; its decoded
 * credentials by this. */
#define MAX_CREDENTIALS 4096

struct cached {
	unsigned char key[32]; /* SHA-256 of user, password and hash */
	int used;
	int ok;
};

struct elx_web_auth {
	uv_loop_t *loop;
	struct elx_web_user *users; /* strings owned */
	size_t nusers;
	char decoy[32]; /* a bcrypt setting of the users' cost, for unknown names */
	struct cached cache[CACHE_SIZE];
	unsigned next_slot;
	uint64_t generation; /* of the users: outcomes of others are not cached */
	unsigned pending;
	int closing;
};

struct verify_job {
	uv_work_t work;
	struct elx_web_auth *auth;
	char *password;
	char *hash; /* the user's, or the decoy setting */
	int known;  /* the user exists */
	int ok;
	unsigned char key[32];
	uint64_t generation;
	void (*done)(void *arg, int ok);
	void *arg;
};

static void free_users(struct elx_web_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)users[i].name);
		free((char *)users[i].hash);
	}
	free(users);
}

int elx_web_auth_new(uv_loop_t *loop, struct elx_web_auth **out)
{
	struct elx_web_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->loop = loop;
	*out = a;
	return 0;
}

static void auth_release(struct elx_web_auth *a)
{
	free_users(a->users, a->nusers);
	OPENSSL_cleanse(a->cache, sizeof(a->cache));
	free(a);
}

void elx_web_auth_free(struct elx_web_auth *a)
{
	if (!a)
		return;
	a->closing = 1;
	if (!a->pending)
		auth_release(a);
}

/* "$2b$10$" and 22 characters of salt, of the cost of the first user's
 * hash: what an unknown user's password is hashed with. */
static void make_decoy(struct elx_web_auth *a)
{
	char prefix[8] = "$2b$";
	unsigned long cost = 10;

	if (a->nusers && strlen(a->users[0].hash) > 6)
		cost = strtoul(a->users[0].hash + 4, NULL, 10);
	if (!crypt_gensalt_rn(prefix, cost, NULL, 0, a->decoy, sizeof(a->decoy)))
		snprintf(a->decoy, sizeof(a->decoy), "$2b$%02lu$%s", cost,
			 "abcdefghijklmnopqrstuu");
}

int elx_web_auth_set_users(struct elx_web_auth *a, const struct elx_web_user *users, size_t n)
{
	struct elx_web_user *copy = calloc(n ? n : 1, sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i].name = strdup(users[i].name);
		copy[i].hash = strdup(users[i].hash);
		if (!copy[i].name || !copy[i].hash) {
			free_users(copy, i + 1);
			return -ENOMEM;
		}
	}
	free_users(a->users, a->nusers);
	a->users = copy;
	a->nusers = n;
	a->generation++;
	memset(a->cache, 0, sizeof(a->cache));
	make_decoy(a);
	return 0;
}

int elx_web_auth_enabled(const struct elx_web_auth *a)
{
	return a && a->nusers > 0;
}

/* ---------------------------------------------------------------- credentials */

struct credentials {
	char text[MAX_CREDENTIALS + 1]; /* "user:password", the colon made a NUL */
	const char *user, *password;
	size_t user_len, password_len;
};

/* "Basic <base64 of user:password>", the scheme in any case. */
static int parse_credentials(const char *header, struct credentials *c)
{
	const char *b64;
	size_t len, pad = 0;
	int n;
	char *colon;

	if (!header || strncasecmp(header, "basic ", 6) != 0)
		return -EINVAL;
	for (b64 = header + 6; *b64 == ' '; b64++)
		;
	len = strlen(b64);
	while (len && b64[len - 1] == ' ')
		len--;
	if (!len || len % 4 || len / 4 * 3 > MAX_CREDENTIALS)
		return -EINVAL;
	n = EVP_DecodeBlock((unsigned char *)c->text, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts the bytes of '=' padding as zeros. */
	pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
	n -= (int)pad;
	c->text[n] = '\0';
	colon = memchr(c->text, ':', (size_t)n);
	if (!colon || memchr(c->text, '\0', (size_t)n))
		return -EINVAL;
	*colon = '\0';
	c->user = c->text;
	c->user_len = (size_t)(colon - c->text);
	c->password = colon + 1;
	c->password_len = (size_t)n - c->user_len - 1;
	return 0;
}

static const struct elx_web_user *find_user(const struct elx_web_auth *a, const char *name)
{
	for (size_t i = 0; i < a->nusers; i++)
		if (strcmp(a->users[i].name, name) == 0)
			return &a->users[i];
	return NULL;
}

/* The cache key: SHA-256 of user, password and the hash they are checked
 * against, so that no password is kept, and a changed hash misses. */
static int cache_key(const struct credentials *c, const char *hash, unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 32;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, c->user, c->user_len + 1) == 1 &&
		 EVP_DigestUpdate(md, c->password, c->password_len + 1) == 1 &&
		 EVP_DigestUpdate(md, hash, strlen(hash)) == 1 &&
		 EVP_DigestFinal_ex(md, key, &len) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -ENOMEM;
}

static struct cached *cache_find(struct elx_web_auth *a, const unsigned char key[32])
{
	for (int i = 0; i < CACHE_SIZE; i++)
		if (a->cache[i].used && CRYPTO_memcmp(a->cache[i].key, key, 32) == 0)
			return &a->cache[i];
	return NULL;
}

static void cache_put(struct elx_web_auth *a, const unsigned char key[32], int ok)
{
	struct cached *slot = cache_find(a, key);

	if (!slot) {
		slot = &a->cache[a->next_slot];
		a->next_slot = (a->next_slot + 1) % CACHE_SIZE;
	}
	memcpy(slot->key, key, 32);
	slot->used = 1;
	slot->ok = ok;
}

enum elx_web_auth_result elx_web_auth_check(struct elx_web_auth *a, const char *authorization)
{
	struct credentials c;
	const struct elx_web_user *u;
	unsigned char key[32];
	struct cached *hit;
	enum elx_web_auth_result r;

	if (!elx_web_auth_enabled(a))
		return ELX_AUTH_OK;
	if (parse_credentials(authorization, &c) < 0)
		return ELX_AUTH_DENIED;
	u = find_user(a, c.user);
	if (cache_key(&c, u ? u->hash : a->decoy, key) < 0)
		r = ELX_AUTH_DENIED;
	else if ((hit = cache_find(a, key)))
		r = hit->ok && u ? ELX_AUTH_OK : ELX_AUTH_DENIED;
	else
		r = ELX_AUTH_VERIFY;
	OPENSSL_cleanse(&c, sizeof(c));
	return r;
}

/* ---------------------------------------------------------------- bcrypt */

/* On a pool thread: the hash of the password with the user's hash as the
 * setting equals that hash exactly when the password is right. */
static void verify_work(uv_work_t *work)
{
	struct verify_job *job = work->data;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out = cd ? crypt_r(job->password, job->hash, cd) : NULL;
	size_t len = strlen(job->hash);

	job->ok = out && out[0] != '*' && strlen(out) == len &&
		  CRYPTO_memcmp(out, job->hash, len) == 0 && job->known;
	if (cd) {
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
	}
}

static void verify_after(uv_work_t *work, int status)
{
	struct verify_job *job = work->data;
	struct elx_web_auth *a = job->auth;
	int ok = status == 0 && job->ok;

	a->pending--;
	if (!a->closing && status == 0 && job->generation == a->generation)
		cache_put(a, job->key, ok);
	job->done(job->arg, a->closing || status == UV_ECANCELED ? -ECANCELED : ok);
	OPENSSL_cleanse(job->password, strlen(job->password));
	free(job->password);
	free(job->hash);
	free(job);
	if (a->closing && !a->pending)
		auth_release(a);
}

int elx_web_auth_verify(struct elx_web_auth *a, const char *authorization,
			void (*done)(void *arg, int ok), void *arg)
{
	struct credentials c;
	const struct elx_web_user *u;
	struct verify_job *job;
	int r = -ENOMEM;

	if (a->pending >= MAX_PENDING)
		return -EBUSY;
	if (parse_credentials(authorization, &c) < 0)
		return -EINVAL;
	u = find_user(a, c.user);
	job = calloc(1, sizeof(*job));
	if (!job)
		goto out;
	job->auth = a;
	job->known = u != NULL;
	job->hash = strdup(u ? u->hash : a->decoy);
	job->password = strdup(c.password);
	job->generation = a->generation;
	job->done = done;
	job->arg = arg;
	job->work.data = job;
	if (!job->hash || !job->password || cache_key(&c, job->hash, job->key) < 0)
		goto out;
	r = uv_queue_work(a->loop, &job->work, verify_work, verify_after);
	if (r == 0) {
		a->pending++;
		job = NULL;
	}
out:
	if (job) {
		if (job->password)
			OPENSSL_cleanse(job->password, strlen(job->password));
		free(job->password);
		free(job->hash);
		free(job);
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return r;
}
