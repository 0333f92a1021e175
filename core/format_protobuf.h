/* The protobuf exposition: the records Lua writes for ELX_FORMAT_PROTOBUF
 * (core/abi.h, struct elx_pb_*) encoded as io.prometheus.client
 * MetricFamily messages, each preceded by its length as a varint, with
 * libprotobuf-c and the code protoc-c made from proto/. */
#ifndef ELX_FORMAT_PROTOBUF_H
#define ELX_FORMAT_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

/* Encodes `len` bytes of records into *out (malloc'd, *out_len bytes).
 * Returns 0, -EINVAL for records that do not parse (nothing is written), or
 * -ENOMEM. */
int elx_protobuf_encode(const uint8_t *in, size_t len, char **out, size_t *out_len);

#endif
