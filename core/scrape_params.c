/* collect[], exclude[] and the scrape timeout header: see scrape_params.h.
 * Query strings are form-encoded: Prometheus sends `params: {collect[]:
 * [a]}` as collect%5B%5D=a. */
#define _GNU_SOURCE
#include "scrape_params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes `n` bytes of `s` ('+' is a space) into a new string;
 * NULL with errno EINVAL for a broken escape or a NUL, ENOMEM. */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*o++ = s[i] == '+' ? ' ' : s[i];
			continue;
		}
		hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
		lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

static int append(char ***list, size_t *n, char *name)
{
	char **grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	grown[(*n)++] = name;
	*list = grown;
	return 0;
}

/* One "key=value" of the query. */
static int parse_pair(const char *s, size_t n, struct elx_scrape_params *p, const char **err)
{
	const char *eq = memchr(s, '=', n);
	size_t klen = eq ? (size_t)(eq - s) : n;
	char *key = decode(s, klen), *value;
	int collect, exclude;

	if (!key)
		goto broken;
	collect = strcmp(key, "collect[]") == 0;
	exclude = strcmp(key, "exclude[]") == 0;
	free(key);
	if (!collect && !exclude)
		return 0;
	value = eq ? decode(eq + 1, n - klen - 1) : strdup("");
	if (!value)
		goto broken;
	if (!*value) {
		free(value);
		*err = "collect[] and exclude[] need a config name";
		return -EINVAL;
	}
	return collect ? append(&p->collect, &p->ncollect, value)
		       : append(&p->exclude, &p->nexclude, value);
broken:
	if (errno == ENOMEM)
		return -ENOMEM;
	*err = "the query string has a broken %-escape";
	return -EINVAL;
}

static int parse_timeout(const char *text, double *out, const char **err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v <= 0) {
		*err = "X-Prometheus-Scrape-Timeout-Seconds is not a number of seconds";
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int elx_scrape_params_parse(const char *query, const char *timeout_header,
			    struct elx_scrape_params *p, const char **err)
{
	const char *s = query ? query : "";
	int r = 0;

	memset(p, 0, sizeof(*p));
	while (!r && *s) {
		size_t n = strcspn(s, "&");

		if (n)
			r = parse_pair(s, n, p, err);
		s += n + (s[n] == '&');
	}
	if (!r && p->ncollect && p->nexclude) {
		*err = "collect[] and exclude[] cannot be used together";
		r = -EINVAL;
	}
	if (!r && timeout_header)
		r = parse_timeout(timeout_header, &p->timeout, err);
	if (r)
		elx_scrape_params_free(p);
	return r;
}

void elx_scrape_params_free(struct elx_scrape_params *p)
{
	for (size_t i = 0; i < p->ncollect; i++)
		free(p->collect[i]);
	for (size_t i = 0; i < p->nexclude; i++)
		free(p->exclude[i]);
	free(p->collect);
	free(p->exclude);
	memset(p, 0, sizeof(*p));
}

double elx_scrape_params_budget(const struct elx_scrape_params *p, double offset)
{
	if (p->timeout <= 0)
		return 0;
	return p->timeout > offset ? p->timeout - offset : p->timeout;
}
