/* What a scrape asks for in its request, besides the page: the time
 * Prometheus gives it (X-Prometheus-Scrape-Timeout-Seconds) and which
 * configs it wants (collect[]=<name> or exclude[]=<name> in the query, as
 * node_exporter's collect[] picks collectors). */
#ifndef ELX_SCRAPE_PARAMS_H
#define ELX_SCRAPE_PARAMS_H

#include <stddef.h>

struct elx_scrape_params {
	double timeout; /* seconds; 0 when the header was not sent */
	char **collect; /* decoded config names */
	size_t ncollect;
	char **exclude;
	size_t nexclude;
};

/* Parses a query string (without '?') and the header's value (NULL when
 * absent). Returns 0, or -EINVAL with a static message in *err (the text
 * of a 400), or -ENOMEM. Other query parameters are left alone. */
int elx_scrape_params_parse(const char *query, const char *timeout_header,
			    struct elx_scrape_params *p, const char **err);

void elx_scrape_params_free(struct elx_scrape_params *p);

/* The seconds a scrape may take: the timeout less `offset`, or the whole
 * timeout when the offset leaves nothing; 0 for no budget. */
double elx_scrape_params_budget(const struct elx_scrape_params *p, double offset);

#endif
