/* The server the HTTP and TLS fuzzers drive: a real one (core/http.c) on a
 * libuv loop in the fuzzer's thread, listening on a loopback port, whose
 * handler answers the way the exporter's routes do: small and large bodies,
 * bodies shared between responses, answers given later, statuses with
 * Allow, header lines of its own and of the server, callbacks when a
 * response is done with. */
#ifndef ELX_FUZZ_SERVER_H
#define ELX_FUZZ_SERVER_H

#include <uv.h>

#include "http.h"

/* A hang is a finding: the loop must finish an input in this many rounds. */
#define MAX_ROUNDS 200000

extern uv_loop_t fuzz_loop;
extern struct elx_http_server *fuzz_srv;

/* Starts the server (TLS with `tls`, or plain HTTP); aborts when it cannot. */
void fuzz_server_start(struct elx_tls_ctx *tls);

/* A non-blocking client socket connected to it. */
int fuzz_connect(void);

/* Responses given that were never done with: must be 0 between inputs. */
int fuzz_responses_open(void);

#endif
