/* The exporter's web surface: which path serves what, for which methods. */
#ifndef ELX_ROUTES_H
#define ELX_ROUTES_H

#include "http.h"

/* The HTTP server's handler; ctx is the struct elx_exporter. */
void elx_routes_handle(void *ctx, const struct elx_http_request *req,
		       struct elx_http_response *resp);

#endif
