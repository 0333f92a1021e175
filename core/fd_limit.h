/* Enough file descriptors for the connections we serve: RLIMIT_NOFILE's
 * soft limit raised towards the hard one. */
#ifndef ELX_FD_LIMIT_H
#define ELX_FD_LIMIT_H

/* Raises the soft limit on open files so that `connections` more fit next
 * to what is open now and a reload's worth of headroom. Returns how many
 * connections fit (fewer than asked only when the hard limit is too low;
 * the caller says so). */
unsigned elx_fd_limit_fit(unsigned connections);

#endif
