/* A map's value type, from its object's BTF, for configure (elx_map_info's
 * value_type and value_fields): struct values are checked against it. */
#ifndef ELX_MAP_BTF_H
#define ELX_MAP_BTF_H

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "abi.h"

/* Fills info->value_type and value_fields for `map` of an opened object
 * whose BTF is `btf` (NULL: none, nothing is filled). The names point into
 * the BTF, valid while the object is open; the fields are malloc'd: free
 * them with elx_map_btf_free. Returns 0 or -ENOMEM. */
int elx_map_btf_describe(const struct btf *btf, const struct bpf_map *map,
			 struct elx_map_info *info);
void elx_map_btf_free(struct elx_map_info *info);

#endif
