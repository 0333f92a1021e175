/* gzip of response bodies with zlib, at the fastest level: a scrape on a LAN
 * waits on the CPU far more than on the bytes. */
#include "gzip.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

/* windowBits 15 plus 16 asks zlib for the gzip wrapper instead of zlib's. */
#define GZIP_WINDOW_BITS (15 + 16)
#define GZIP_MEM_LEVEL	 8

int elx_gzip(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream zs = { 0 };
	char *buf = NULL, *shrunk;
	size_t cap, in_left = len, out_left;
	int zr, r = 0;

	if (!out || !out_len || (!in && len))
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	zr = deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
			  Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		return zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	/* The bound covers the worst case, so one buffer and one pass suffice. */
	cap = deflateBound(&zs, len);
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	zs.next_in = (Bytef *)in;
	zs.next_out = (Bytef *)buf;
	out_left = cap;
	/* avail_in and avail_out are 32 bits wide: feed larger bodies in slices. */
	do {
		uInt in_step = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
		uInt out_step = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;

		zs.avail_in = in_step;
		zs.avail_out = out_step;
		zr = deflate(&zs, in_step == in_left ? Z_FINISH : Z_NO_FLUSH);
		in_left -= in_step - zs.avail_in;
		out_left -= out_step - zs.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			r = zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
			goto out;
		}
		if (zr == Z_BUF_ERROR && out_left == 0) {
			r = -EIO;
			goto out;
		}
	} while (zr != Z_STREAM_END);

	*out_len = cap - out_left;
	/* The bound is about the input's size; the response would hold it all
	 * until the write completes. */
	shrunk = realloc(buf, *out_len ? *out_len : 1);
	if (shrunk)
		buf = shrunk;
	*out = buf;
	buf = NULL;
out:
	deflateEnd(&zs);
	free(buf);
	return r;
}
