/* Destroying targets' links away from the loop. The kernel takes ~100 ms to
 * tear down one uprobe (it waits for an RCU grace period, and such
 * teardowns run one at a time machine-wide): 200 processes exiting at once
 * would stall scrapes for tens of seconds. So a link's fds are closed by a
 * thread of ours, in order, while the loop goes on. */
#ifndef ELX_LINK_CLOSER_H
#define ELX_LINK_CLOSER_H

struct bpf_link;

/* Detaches a uprobe (perf event) link now, on the caller's thread, and
 * leaves the kernel's teardown of its probe to the closer thread (which
 * holds a duplicate of its fd until then). Other links are destroyed by the
 * closer thread. `owner` says whose link it is, for elx_link_closer_drain. */
void elx_link_closer_destroy(struct bpf_link *link, int usdt, const void *owner);

/* libbpf's USDT links share state with their object's later USDT attaches:
 * USDT attaches hold this lock, and the closer thread holds it while it
 * destroys a USDT link. */
void elx_link_closer_lock_usdt(void);
void elx_link_closer_unlock_usdt(void);

/* Waits until every USDT link of `owner` handed over is destroyed: before
 * its object closes (a USDT link refers to its object's USDT manager; the
 * others depend on nothing of ours). */
void elx_link_closer_drain(const void *owner);

/* Links handed over and not destroyed yet: for tests and the benchmark. */
unsigned long elx_link_closer_pending(void);

#endif
