/* Which exposition format a scraper gets, from its Accept header, as
 * Prometheus's client libraries choose it, and whether gzipped. */
#ifndef ELX_ACCEPT_H
#define ELX_ACCEPT_H

#include "abi.h"

/* The format of the metrics page for `accept` (NULL or "" for none): the
 * acceptable media range of the highest q, the first one on a tie; text
 * 0.0.4 when nothing acceptable is offered. OpenMetrics is acceptable only
 * with `openmetrics` (--web.enable-openmetrics). */
enum elx_format elx_accept_format(const char *accept, int openmetrics);

/* Whether Accept-Encoding (NULL or "" for none) takes gzip (RFC 9110
 * 12.5.3): an explicit gzip or x-gzip decides by its q, otherwise "*" does;
 * q=0 refuses. */
int elx_accept_gzip(const char *accept_encoding);

#endif
