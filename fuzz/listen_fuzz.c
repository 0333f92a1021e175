/* libFuzzer target: --web.listen-address parsing. Any text gives either an
 * address whose fields are in range and agree with the text, or -EINVAL
 * with a message; nothing is read or written out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elx_listen_address a;
	const char *msg = NULL;
	char *text = malloc(size + 1);
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = elx_listen_parse(text, &a, &msg);
	if (r == 0) {
		if (msg ||
		    a.kind != (elx_listen_is_systemd(text) ? ELX_LISTEN_SYSTEMD : ELX_LISTEN_BIND))
			abort();
		if (a.kind == ELX_LISTEN_SYSTEMD && a.systemd_index < 0)
			abort();
		if (a.kind == ELX_LISTEN_BIND &&
		    (memchr(a.host, '\0', sizeof(a.host)) == NULL ||
		     (a.host_in_brackets && text[0] != '[') || strstr(text, a.host) == NULL))
			abort();
	} else if (r != -EINVAL || !msg || !*msg) {
		abort();
	}
	free(text);
	return 0;
}
