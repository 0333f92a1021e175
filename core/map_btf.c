/* Members of a map's value type, read from its object's BTF. */
#include "map_btf.h"

#include <errno.h>
#include <stdlib.h>

/* The type behind typedefs and qualifiers (const, volatile, restrict). */
static const struct btf_type *resolved(const struct btf *btf, uint32_t *id)
{
	int32_t real = btf__resolve_type(btf, *id);

	if (real < 0)
		return NULL;
	*id = (uint32_t)real;
	return btf__type_by_id(btf, *id);
}

static int describe_members(const struct btf *btf, const struct btf_type *t,
			    struct elx_map_info *info)
{
	const struct btf_member *m = btf_members(t);
	uint16_t n = btf_vlen(t);
	struct elx_value_field *fields = calloc(n ? n : 1, sizeof(*fields));

	if (!fields)
		return -ENOMEM;
	for (uint16_t i = 0; i < n; i++) {
		long long size = btf__resolve_size(btf, m[i].type);
		uint32_t bits = btf_member_bit_offset(t, i);

		fields[i].name = btf__name_by_offset(btf, m[i].name_off);
		fields[i].offset = bits / 8;
		/* A bitfield, or a member whose size BTF cannot tell, matches
		 * no field of a config: size 0. */
		fields[i].size =
		    (btf_member_bitfield_size(t, i) || bits % 8 || size < 0) ? 0 : (uint32_t)size;
	}
	info->value_fields = fields;
	info->nvalue_fields = n;
	return 0;
}

int elx_map_btf_describe(const struct btf *btf, const struct bpf_map *map,
			 struct elx_map_info *info)
{
	uint32_t id = bpf_map__btf_value_type_id(map);
	const struct btf_type *t;

	if (!btf || !id)
		return 0;
	t = resolved(btf, &id);
	if (!t)
		return 0;
	info->value_type = btf__name_by_offset(btf, t->name_off);
	if (!info->value_type)
		info->value_type = "";
	if (btf_is_struct(t) || btf_is_union(t))
		return describe_members(btf, t, info);
	return 0;
}

void elx_map_btf_free(struct elx_map_info *info)
{
	free((void *)info->value_fields);
	info->value_fields = NULL;
	info->nvalue_fields = 0;
}
