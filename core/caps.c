/* Dropping capabilities after attach with libcap: what a BPF exporter needs
 * to load programs it no longer needs to read their maps. */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "log.h"

/* Builds the set named by `keep` ("none" or a comma list); NULL on error. */
static cap_t parse(const char *keep, char **err)
{
	cap_t caps = cap_init(); /* every flag clear */
	char *copy = strdup(keep), *save = NULL;

	if (!caps || !copy) {
		cap_free(caps);
		free(copy);
		*err = strdup("out of memory");
		return NULL;
	}
	if (strcmp(keep, "none") != 0) {
		for (char *name = strtok_r(copy, ",", &save); name;
		     name = strtok_r(NULL, ",", &save)) {
			cap_value_t value;

			if (cap_from_name(name, &value) != 0) {
				if (asprintf(err, "\"%s\" is not a capability (e.g. cap_bpf)",
					     name) < 0)
					*err = NULL;
				cap_free(caps);
				free(copy);
				return NULL;
			}
			cap_set_flag(caps, CAP_PERMITTED, 1, &value, CAP_SET);
			cap_set_flag(caps, CAP_EFFECTIVE, 1, &value, CAP_SET);
		}
	}
	free(copy);
	return caps;
}

int elx_caps_check(const char *keep, char **err)
{
	cap_t caps;

	*err = NULL;
	if (strcmp(keep, "all") == 0)
		return 0;
	caps = parse(keep, err);
	if (!caps)
		return -EINVAL;
	cap_free(caps);
	return 0;
}

int elx_caps_keep(const char *keep, char **err)
{
	cap_t caps;
	char *text;
	int ret = 0;

	*err = NULL;
	if (strcmp(keep, "all") == 0) {
		log_info("capabilities: keeping all of them (--capabilities.keep=all)");
		return 0;
	}
	caps = parse(keep, err);
	if (!caps)
		return -EINVAL;
	if (cap_set_proc(caps) != 0) {
		ret = -errno;
		if (asprintf(err, "setting capabilities to %s: %s", keep, strerror(-ret)) < 0)
			*err = NULL;
	} else {
		text = cap_to_text(caps, NULL);
		log_info("capabilities: dropped to \"%s\"", text ? text : keep);
		cap_free(text);
	}
	cap_free(caps);
	return ret;
}
