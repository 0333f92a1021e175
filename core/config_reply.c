/* Lua's configure answer lives in its state only until the next call: the
 * core keeps copies. */
#define _GNU_SOURCE
#include "config_reply.h"

#include <bpf/libbpf.h>
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
	reply->targets = calloc(call->ntarget_programs + 1, sizeof(*reply->targets));
	if (!reply->maps || !reply->kaddrs || !reply->targets)
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
	for (uint32_t i = 0; i < call->ntarget_programs; i++) {
		reply->targets[i] = strdup(call->target_programs[i]);
		if (!reply->targets[i])
			return -ENOMEM;
		reply->ntargets++;
	}
	reply->grace_ms = call->target_grace_ms;
	return copy_streams(call, reply);
}

/* The programs of the opened object, by name and SEC(): `targets:` names
 * them. The strings are libbpf's, valid while the object is open. */
static struct elx_program_info *program_infos(const struct bpf_object *obj, uint32_t *n)
{
	struct bpf_program *prog;
	struct elx_program_info *infos;

	*n = 0;
	bpf_object__for_each_program(prog, obj)(*n)++;
	infos = calloc(*n + 1, sizeof(*infos));
	*n = 0;
	bpf_object__for_each_program(prog, obj)
	{
		if (!infos)
			break;
		infos[*n].name = bpf_program__name(prog);
		infos[(*n)++].section = bpf_program__section_name(prog);
	}
	return infos;
}

int elx_config_reply_ask(struct elx_lua *lua, const char *name, const struct elx_map_info *infos,
			 size_t ninfos, const struct bpf_object *obj,
			 struct elx_config_reply *reply, char **err)
{
	struct elx_configure call = { .name = name, .maps = infos, .nmaps = (uint32_t)ninfos };
	struct elx_program_info *programs = obj ? program_infos(obj, &call.nprograms) : NULL;
	int ret;

	memset(reply, 0, sizeof(*reply));
	if (obj && !programs) {
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	call.programs = programs;
	ret = elx_lua_call(lua, ELX_ENTRY_CONFIGURE, &call, err);
	free(programs);
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
	for (size_t i = 0; i < reply->ntargets; i++)
		free(reply->targets[i]);
	free(reply->targets);
	memset(reply, 0, sizeof(*reply));
}
