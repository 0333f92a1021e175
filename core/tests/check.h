/* Checks for the C tests: each prints where it failed and what it saw, then
 * exits 1, which ctest reports. */
#ifndef ELX_TESTS_CHECK_H
#define ELX_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (a), b_ = (b);                                                      \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__,  \
				#a, a_, b_);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || strcmp(a_, b_) != 0) {                                                  \
			fprintf(stderr, "%s:%d: %s is\n[%s]\nexpected\n[%s]\n", __FILE__,          \
				__LINE__, #a, a_ ? a_ : "(null)", b_);                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_MEM(a, a_len, b, b_len)                                                              \
	do {                                                                                       \
		size_t al_ = (a_len), bl_ = (b_len);                                               \
		if (al_ != bl_ || memcmp((a), (b), al_) != 0) {                                    \
			fprintf(stderr, "%s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n",     \
				__FILE__, __LINE__, #a, al_, #b, bl_);                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#endif
