/* Tests of basic auth (core/web_auth.c) with real bcrypt hashes made by
 * libxcrypt, verified on libuv's thread pool; and of the scrape's request
 * parameters (core/scrape_params.c). */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "scrape_params.h"
#include "web_auth.h"
#include "check.h"

/* A bcrypt hash of `password` with prefix "$2b$" or "$2y$" (cost 4: fast). */
static char *hash_of(const char *prefix, const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd = { 0 };
	const char *h;

	CHECK(crypt_gensalt_rn(prefix, 4, NULL, 0, setting, sizeof(setting)));
	h = crypt_r(password, setting, &cd);
	CHECK(h && h[0] == '$');
	return strdup(h);
}

static int outcome;

static void done(void *arg, int ok)
{
	outcome = ok;
	*(int *)arg += 1;
}

/* Verifies on the pool and runs the loop until the answer came. */
static int verify(uv_loop_t *loop, struct elx_web_auth *a, const char *header)
{
	int calls = 0;

	CHECK_INT(elx_web_auth_verify(a, header, done, &calls), 0);
	while (!calls)
		uv_run(loop, UV_RUN_ONCE);
	CHECK_INT(calls, 1);
	return outcome;
}

static void test_auth(uv_loop_t *loop)
{
	char *b = hash_of("$2b$", "right"), *y = hash_of("$2y$", "s3cret:with colon");
	struct elx_web_user users[] = { { "prometheus", b }, { "alice", y } };
	struct elx_web_auth *a;
	int calls = 0;

	CHECK_INT(elx_web_auth_new(loop, &a), 0);
	/* No users: everyone passes. */
	CHECK(!elx_web_auth_enabled(a));
	CHECK_INT(elx_web_auth_check(a, NULL), ELX_AUTH_OK);
	CHECK_INT(elx_web_auth_set_users(a, users, 2), 0);
	CHECK(elx_web_auth_enabled(a));
	/* No credentials, other schemes and broken base64 are refused at once. */
	CHECK_INT(elx_web_auth_check(a, NULL), ELX_AUTH_DENIED);
	CHECK_INT(elx_web_auth_check(a, "Bearer cHJvbWV0aGV1czpyaWdodA=="), ELX_AUTH_DENIED);
	CHECK_INT(elx_web_auth_check(a, "Basic cHJvbWV0aGV1czpyaWdodA="), ELX_AUTH_DENIED);
	CHECK_INT(elx_web_auth_check(a, "Basic bm9jb2xvbg=="), ELX_AUTH_DENIED); /* "nocolon" */
	CHECK_INT(elx_web_auth_verify(a, "Basic !!!!", done, &calls), -EINVAL);
	/* prometheus:right, first hashed, then known. */
	CHECK_INT(elx_web_auth_check(a, "Basic cHJvbWV0aGV1czpyaWdodA=="), ELX_AUTH_VERIFY);
	CHECK_INT(verify(loop, a, "Basic cHJvbWV0aGV1czpyaWdodA=="), 1);
	CHECK_INT(elx_web_auth_check(a, "basic   cHJvbWV0aGV1czpyaWdodA=="), ELX_AUTH_OK);
	/* prometheus:wrong: hashed once, then refused from the cache. */
	CHECK_INT(verify(loop, a, "Basic cHJvbWV0aGV1czp3cm9uZw=="), 0);
	CHECK_INT(elx_web_auth_check(a, "Basic cHJvbWV0aGV1czp3cm9uZw=="), ELX_AUTH_DENIED);
	/* alice's password holds a colon; her hash is a $2y$ one (htpasswd's). */
	CHECK_INT(verify(loop, a, "Basic YWxpY2U6czNjcmV0OndpdGggY29sb24="), 1);
	/* A user that is not configured, with a password of another's. */
	CHECK_INT(verify(loop, a, "Basic bWFsbG9yeTpyaWdodA=="), 0);
	CHECK_INT(elx_web_auth_check(a, "Basic bWFsbG9yeTpyaWdodA=="), ELX_AUTH_DENIED);
	/* New users: what was known of the others is forgotten. */
	free(b);
	b = hash_of("$2b$", "changed");
	users[0].hash = b;
	CHECK_INT(elx_web_auth_set_users(a, users, 1), 0);
	CHECK_INT(elx_web_auth_check(a, "Basic cHJvbWV0aGV1czpyaWdodA=="), ELX_AUTH_VERIFY);
	CHECK_INT(verify(loop, a, "Basic cHJvbWV0aGV1czpyaWdodA=="), 0);
	CHECK_INT(verify(loop, a, "Basic cHJvbWV0aGV1czpjaGFuZ2Vk"), 1); /* prometheus:changed */
	CHECK_INT(verify(loop, a, "Basic YWxpY2U6czNjcmV0OndpdGggY29sb24="), 0);
	/* Freed while hashing: the request hears -ECANCELED. */
	calls = 0;
	CHECK_INT(elx_web_auth_verify(a, "Basic cHJvbWV0aGV1czpjaGFuZ2Vk", done, &calls), 0);
	elx_web_auth_free(a);
	while (!calls)
		uv_run(loop, UV_RUN_ONCE);
	CHECK_INT(outcome, -ECANCELED);
	free(b);
	free(y);
}

static void expect_params(const char *query, const char *timeout, const char *collect,
			  const char *exclude, double seconds)
{
	struct elx_scrape_params p;
	const char *err = NULL;
	char got[256] = "";

	CHECK_INT(elx_scrape_params_parse(query, timeout, &p, &err), 0);
	for (size_t i = 0; i < p.ncollect; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "",
			 p.collect[i]);
	CHECK_STR(got, collect);
	got[0] = '\0';
	for (size_t i = 0; i < p.nexclude; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "",
			 p.exclude[i]);
	CHECK_STR(got, exclude);
	CHECK(p.timeout == seconds);
	elx_scrape_params_free(&p);
}

static void expect_params_error(const char *query, const char *timeout, const char *expected)
{
	struct elx_scrape_params p;
	const char *err = NULL;

	CHECK_INT(elx_scrape_params_parse(query, timeout, &p, &err), -EINVAL);
	CHECK_STR(err, expected);
	CHECK(p.collect == NULL && p.exclude == NULL);
}

static void test_params(void)
{
	struct elx_scrape_params p = { .timeout = 10 };

	expect_params("", NULL, "", "", 0);
	expect_params("collect%5B%5D=biolatency&collect[]=timers&debug=1", "9.5",
		      "biolatency,timers", "", 9.5);
	expect_params("exclude%5b%5d=a%2Bb+c&&x", "1", "", "a+b c", 1);
	expect_params_error("collect[]=a&exclude[]=b", NULL,
			    "collect[] and exclude[] cannot be used together");
	expect_params_error("collect[]=", NULL, "collect[] and exclude[] need a config name");
	expect_params_error("collect[]", NULL, "collect[] and exclude[] need a config name");
	expect_params_error("collect[]=a%2", NULL, "the query string has a broken %-escape");
	expect_params_error("collect[]=a%00b", NULL, "the query string has a broken %-escape");
	for (const char *bad = "abc\0 \0-1\0 0\0inf\0nan\0 1s\0"; *bad; bad += strlen(bad) + 1)
		expect_params_error(
		    "", bad, "X-Prometheus-Scrape-Timeout-Seconds is not a number of seconds");
	/* The offset comes off; an offset past the whole timeout is ignored. */
	CHECK(elx_scrape_params_budget(&p, 0.5) == 9.5);
	p.timeout = 0.4;
	CHECK(elx_scrape_params_budget(&p, 0.5) == 0.4);
	p.timeout = 0;
	CHECK(elx_scrape_params_budget(&p, 0.5) == 0);
}

int main(void)
{
	uv_loop_t loop;

	CHECK_INT(uv_loop_init(&loop), 0);
	test_auth(&loop);
	test_params();
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
	printf("test_web_auth: all passed\n");
	return 0;
}
