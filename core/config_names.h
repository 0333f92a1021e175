/* Which configs to load: the names of --config.names, or with "all" every
 * <name>.yaml of the config dir that has its <name>.bpf.o. */
#ifndef ELX_CONFIG_NAMES_H
#define ELX_CONFIG_NAMES_H

#include <stddef.h>

#include "flags.h"

/* The names to load now, NULL-terminated and malloc'd; NULL on error, which
 * is logged: an unreadable dir, or "all" finding no config. A name with
 * neither file is logged (with the configs there are), left out and counted
 * in *missing, so that the others are still checked. */
char **elx_config_names(const struct elx_flags *flags, size_t *n, size_t *missing);

void elx_config_names_free(char **names, size_t n);

#endif
