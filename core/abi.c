/* The core symbols Lua uses through the FFI (see abi.h). */
#include "abi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ELX_EXPORT struct elx_call elx_call;

ELX_EXPORT uint32_t elx_abi_version(void)
{
	return ELX_ABI_VERSION;
}

ELX_EXPORT int elx_scrape_set_body(struct elx_scrape *scrape, const char *text, uint64_t len)
{
	char *body = malloc(len ? len : 1);

	if (!body)
		return -ENOMEM;
	memcpy(body, text, len);
	free(scrape->body);
	scrape->body = body;
	scrape->body_len = len;
	return 0;
}
