/* Lua's configure answer lives in its state only until the next call: the
 * core keeps copies. */
#define _GNU_SOURCE
#include "config_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int copy_streams(const struct elx_configure *call, struct elx_config_reply *reply)
{
	reply->streams = calloc(call->nspan_streams + 1, sizeof(*reply->streams));
	if (!reply->streams)
		return -ENOMEM;
	for (uint32_t i = 0; i < call->nspan_streams; i++) {
		const struct elx_span_stream *s = &call->span_streams[i];

		reply->streams[i].map = strdup(s->map);
		reply->streams[i].service = s->service ? strdup(s->service) : NULL;
		reply->nstreams++;
		if (!reply->streams[i].map || (s->service && !reply->streams[i].service))
			return -ENOMEM;
	}
	return 0;
}

static int copy_answer(const struct elx_configure *call, struct elx_config_reply *reply)
{
	reply->maps = calloc(call->nmetric_maps + 1, sizeof(*reply->maps));
	reply->kaddrs = calloc(call->nkaddrs + 1, sizeof(*reply->kaddrs));
	if (!reply->maps || !reply->kaddrs)
		return -ENOMEM;
	for (uint32_t i = 0; i < call->nmetric_maps; i++) {
		reply->maps[i] = call->metric_maps[i];
		reply->maps[i].name = strdup(call->metric_maps[i].name);
		if (!reply->maps[i].name)
			return -ENOMEM;
		reply->nmaps++;
	}
	for (uint32_t i = 0; i < call->nkaddrs; i++) {
		reply->kaddrs[i] = strdup(call->kaddrs[i]);
		if (!reply->kaddrs[i])
			return -ENOMEM;
		reply->nkaddrs++;
	}
	return copy_streams(call, reply);
}

int elx_config_reply_ask(struct elx_lua *lua, const char *name, const struct elx_map_info *infos,
			 size_t ninfos, struct elx_config_reply *reply, char **err)
{
	struct elx_configure call = { .name = name, .maps = infos, .nmaps = (uint32_t)ninfos };
	int ret;

	memset(reply, 0, sizeof(*reply));
	ret = elx_lua_call(lua, ELX_ENTRY_CONFIGURE, &call, err);
	if (ret)
		return ret;
	ret = copy_answer(&call, reply);
	if (ret) {
		elx_config_reply_free(reply);
		*err = strdup("out of memory");
	}
	return ret;
}

void elx_config_reply_free(struct elx_config_reply *reply)
{
	for (size_t i = 0; i < reply->nmaps; i++)
		free((char *)reply->maps[i].name);
	free(reply->maps);
	for (size_t i = 0; i < reply->nkaddrs; i++)
		free(reply->kaddrs[i]);
	free(reply->kaddrs);
	for (size_t i = 0; i < reply->nstreams; i++) {
		free((char *)reply->streams[i].map);
		free((char *)reply->streams[i].service);
	}
	free(reply->streams);
	memset(reply, 0, sizeof(*reply));
}
