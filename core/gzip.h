/* gzip of response bodies with zlib. */
#ifndef ELX_GZIP_H
#define ELX_GZIP_H

#include <stddef.h>

/* Compresses `len` bytes into a malloc'd gzip stream. Returns 0 or -errno. */
int elx_gzip(const char *in, size_t len, char **out, size_t *out_len);

#endif
