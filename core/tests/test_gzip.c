/* Tests of elx_gzip: what it writes is a gzip stream that zlib's inflate
 * turns back into the input, for empty, tiny, compressible and random data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"
#include "check.h"

static void round_trip(const char *name, const char *in, size_t len)
{
	z_stream zs = { 0 };
	char *gz = NULL, *out;
	size_t gz_len = 0, cap = len + 1;

	CHECK_INT(elx_gzip(in, len, &gz, &gz_len), 0);
	CHECK(gz);
	/* The gzip magic, deflate, and the ISIZE trailer (input length mod 2^32). */
	CHECK(gz_len >= 18);
	CHECK_INT((unsigned char)gz[0], 0x1f);
	CHECK_INT((unsigned char)gz[1], 0x8b);
	CHECK_INT(gz[2], 8);
	CHECK_INT((unsigned char)gz[gz_len - 4] | (unsigned char)gz[gz_len - 3] << 8 |
		      (unsigned char)gz[gz_len - 2] << 16 |
		      (unsigned long)(unsigned char)gz[gz_len - 1] << 24,
		  len & 0xffffffffUL);

	out = malloc(cap);
	CHECK(out);
	CHECK_INT(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)gz_len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	CHECK_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
	CHECK_INT(zs.avail_in, 0);
	CHECK_INT(cap - zs.avail_out, len);
	CHECK(memcmp(out, in, len) == 0);
	inflateEnd(&zs);
	printf("%s: %zu -> %zu bytes\n", name, len, gz_len);
	free(out);
	free(gz);
}

int main(void)
{
	size_t big = 4 << 20, i, off = 0;
	char *text = malloc(big), *noise = malloc(big);
	unsigned seed = 12345;
	char *gz = (char *)1;
	size_t gz_len = 1;

	CHECK(text && noise);
	for (i = 0; off + 64 < big; i++)
		off += (size_t)snprintf(text + off, big - off,
					"elx_syscalls_total{name=\"sys_%zu\"} %zu\n", i % 400, i);
	for (i = 0; i < big; i++) {
		seed = seed * 1103515245 + 12345;
		noise[i] = (char)(seed >> 16);
	}

	round_trip("empty", "", 0);
	round_trip("one byte", "x", 1);
	round_trip("exposition text", text, off);
	/* Incompressible input must still fit the buffer deflateBound sized. */
	round_trip("random bytes", noise, big);

	CHECK_INT(elx_gzip(NULL, 1, &gz, &gz_len), -EINVAL);
	CHECK_INT(elx_gzip("x", 1, NULL, &gz_len), -EINVAL);
	CHECK_INT(elx_gzip("x", 1, &gz, NULL), -EINVAL);

	free(text);
	free(noise);
	printf("test_gzip: all passed\n");
	return 0;
}
