/* One thread and a queue. A uprobe link is detached on the loop (libbpf
 * disables its perf event and closes both fds, which are then not the last
 * references: a duplicate of the link's fd is) and only that duplicate goes
 * to the thread; a USDT link, whose fds libbpf keeps to itself, goes whole.
 * The thread starts with the first link and is joined at exit, after it has
 * destroyed what was left. */
#define _GNU_SOURCE
#include "link_closer.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

struct job {
	struct job *next;
	int fd;		       /* a duplicate fd to close, or -1 */
	struct bpf_link *link; /* a USDT link to destroy, or NULL */
	const void *owner;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t usdt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *head, *tail;
static const void *busy_owner; /* the job in progress's */
static unsigned long pending;
static int started, stopping;
static pthread_t thread;

static void run(struct job *j)
{
	if (j->link) {
		pthread_mutex_lock(&usdt_lock);
		bpf_link__destroy(j->link);
		pthread_mutex_unlock(&usdt_lock);
	} else {
		close(j->fd);
	}
}

static void *closer(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		struct job *j = head;

		if (!j && stopping)
			break;
		if (!j) {
			pthread_cond_wait(&changed, &lock);
			continue;
		}
		head = j->next;
		if (!head)
			tail = NULL;
		busy_owner = j->owner;
		pthread_mutex_unlock(&lock);
		run(j);
		free(j);
		pthread_mutex_lock(&lock);
		busy_owner = NULL;
		pending--;
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* At exit: what is queued is destroyed before the process goes. */
static void stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
}

/* Called with `lock` held. Returns 0 or -errno. */
static int start(void)
{
	int ret;

	if (started)
		return 0;
	ret = -pthread_create(&thread, NULL, closer, NULL);
	if (ret)
		return ret;
	started = 1;
	atexit(stop);
	return 0;
}

void elx_link_closer_destroy(struct bpf_link *link, int usdt, const void *owner)
{
	struct job *j = calloc(1, sizeof(*j));
	int ret;

	if (!link)
		return;
	if (j && !usdt) {
		j->fd = dup(bpf_link__fd(link));
		bpf_link__destroy(link);
		link = NULL;
	} else if (j) {
		j->fd = -1;
		j->link = link;
	}
	pthread_mutex_lock(&lock);
	ret = j && (j->link || j->fd >= 0) ? start() : -ENOMEM;
	if (!ret) {
		/* Only a USDT link depends on its object: drains wait for those. */
		j->owner = usdt ? owner : NULL;
		if (tail)
			tail->next = j;
		else
			head = j;
		tail = j;
		pending++;
		pthread_cond_broadcast(&changed);
	}
	pthread_mutex_unlock(&lock);
	if (ret) {
		/* No thread, no memory: the slow way, here. */
		log_debug("link closer: %s: destroying on the loop",
			  ret == -ENOMEM ? "out of memory" : "no thread");
		if (j && j->fd >= 0)
			close(j->fd);
		pthread_mutex_lock(&usdt_lock);
		bpf_link__destroy(link);
		pthread_mutex_unlock(&usdt_lock);
		free(j);
	}
}

void elx_link_closer_lock_usdt(void)
{
	pthread_mutex_lock(&usdt_lock);
}

void elx_link_closer_unlock_usdt(void)
{
	pthread_mutex_unlock(&usdt_lock);
}

static int owns_any(const void *owner)
{
	if (busy_owner == owner)
		return 1;
	for (struct job *j = head; j; j = j->next) {
		if (j->owner == owner)
			return 1;
	}
	return 0;
}

void elx_link_closer_drain(const void *owner)
{
	pthread_mutex_lock(&lock);
	while (owns_any(owner))
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
}

unsigned long elx_link_closer_pending(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = pending;
	pthread_mutex_unlock(&lock);
	return n;
}
