/* Config names, checked before anything is opened, so that a typo in
 * --config.names or a YAML without its object says so in one line. */
#define _GNU_SOURCE
#include "config_names.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int file_exists(const char *dir, const char *name, const char *suffix)
{
	char *path;
	int exists;

	if (asprintf(&path, "%s/%s%s", dir, name, suffix) < 0)
		return 0;
	exists = access(path, F_OK) == 0;
	free(path);
	return exists;
}

static int append(char ***names, size_t *n, size_t *cap, char *name)
{
	if (!name)
		return -ENOMEM;
	if (*n + 1 >= *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*names, grown_cap * sizeof(**names));

		if (!grown) {
			free(name);
			return -ENOMEM;
		}
		*names = grown;
		*cap = grown_cap;
	}
	(*names)[(*n)++] = name;
	(*names)[*n] = NULL;
	return 0;
}

/* Every <name> of a <name>.yaml in `dir`, sorted; NULL (logged) when `dir`
 * cannot be read. */
static char **yaml_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	char **names = calloc(1, sizeof(*names));
	size_t cap = 1;

	*n = 0;
	if (!d || !names) {
		log_error("--config.dir=%s: %s", dir, strerror(d ? ENOMEM : errno));
		free(names);
		if (d)
			closedir(d);
		return NULL;
	}
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);

		if (len <= 5 || strcmp(ent->d_name + len - 5, ".yaml") != 0 ||
		    ent->d_name[0] == '.')
			continue;
		if (append(&names, n, &cap, strndup(ent->d_name, len - 5)) != 0)
			break;
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), compare_names);
	return names;
}

/* The configs of `dir`: its YAMLs that have their .bpf.o; with `loud` each
 * one without is logged. */
static char **scan_dir(const char *dir, int loud, size_t *n)
{
	size_t all, kept = 0;
	char **names = yaml_names(dir, &all);

	for (size_t i = 0; names && i < all; i++) {
		if (file_exists(dir, names[i], ".bpf.o")) {
			names[kept++] = names[i];
			continue;
		}
		if (loud)
			log_warn("--config.names=all: skipping %s/%s.yaml: no %s.bpf.o next to it",
				 dir, names[i], names[i]);
		free(names[i]);
	}
	if (names)
		names[kept] = NULL;
	*n = kept;
	return names;
}

/* "a, b, c", or "none", for a message. */
static char *joined(char **names, size_t n)
{
	size_t len = 5;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 2;
	out = calloc(1, len);
	for (size_t i = 0; out && i < n; i++) {
		strcat(out, names[i]);
		if (i + 1 < n)
			strcat(out, ", ");
	}
	if (out && n == 0)
		strcpy(out, "none");
	return out;
}

/* A name with neither file is a typo more often than a missing file. */
static int check_named(const struct elx_flags *flags, const char *name)
{
	size_t n;
	char **there, *list;

	if (file_exists(flags->config_dir, name, ".yaml") ||
	    file_exists(flags->config_dir, name, ".bpf.o"))
		return 0;
	there = scan_dir(flags->config_dir, 0, &n);
	list = there ? joined(there, n) : NULL;
	log_error("--config.names: no config %s in %s (neither %s.yaml nor %s.bpf.o); the configs "
		  "there: %s",
		  name, flags->config_dir, name, name, list ? list : "none");
	free(list);
	elx_config_names_free(there, n);
	return -ENOENT;
}

/* The names that exist; the others are logged and counted in *missing. */
static char **named(const struct elx_flags *flags, size_t *n, size_t *missing)
{
	char **names = calloc(flags->nconfig_names + 1, sizeof(*names));

	*n = 0;
	for (size_t i = 0; names && i < flags->nconfig_names; i++) {
		if (check_named(flags, flags->config_names[i]) != 0)
			(*missing)++;
		else
			names[(*n)++] = strdup(flags->config_names[i]);
	}
	return names;
}

char **elx_config_names(const struct elx_flags *flags, size_t *n, size_t *missing)
{
	char **names;

	*missing = 0;
	if (!flags->config_names_all)
		return named(flags, n, missing);
	names = scan_dir(flags->config_dir, 1, n);
	if (names && *n == 0) {
		log_error("--config.names=all: no config to load in %s: no <name>.yaml there has "
			  "its <name>.bpf.o",
			  flags->config_dir);
		elx_config_names_free(names, *n);
		return NULL;
	}
	return names;
}

void elx_config_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
