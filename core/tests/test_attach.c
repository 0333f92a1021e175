/* Tests of attaching programs by their SEC() names: the perf_event/ spec
 * and CPU list parsers, and the table of section kinds against real objects
 * of the integration specs (registration, setup, dispatch, detach). Needs
 * root and BPF. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "check.h"

/* ---------------------------------------------------------------- parsers */

static void expect_perf_error(const char *spec, const char *msg)
{
	struct perf_event_attr attr;
	char *err = NULL;

	CHECK_INT(elx_attach_parse_perf_event(spec, &attr, &err), -EINVAL);
	CHECK_STR(err, msg);
	free(err);
}

static void test_parse_perf_event(void)
{
	struct perf_event_attr attr;
	char *err = NULL;

	CHECK_INT(elx_attach_parse_perf_event("type=1,config=0,frequency=99", &attr, &err), 0);
	CHECK(err == NULL);
	CHECK_INT(attr.size, sizeof(attr));
	CHECK_INT(attr.type, 1);
	CHECK_INT(attr.config, 0);
	CHECK_INT(attr.freq, 1);
	CHECK_INT(attr.sample_freq, 99);
	/* Without a frequency the event counts and never samples by time. */
	CHECK_INT(elx_attach_parse_perf_event("config=0x10,type=4", &attr, &err), 0);
	CHECK_INT(attr.type, 4);
	CHECK_INT(attr.config, 16);
	CHECK_INT(attr.freq, 0);
	CHECK_INT(attr.sample_freq, 0);

	expect_perf_error("type=1", "needs type=<n> and config=<n>");
	expect_perf_error("config=1", "needs type=<n> and config=<n>");
	expect_perf_error("", "needs type=<n> and config=<n>");
	expect_perf_error("type=1,config", "\"config\" is not key=value");
	expect_perf_error("type=1,config=x", "config: \"x\" is not a number");
	expect_perf_error("type=1,config=", "config: \"\" is not a number");
	expect_perf_error("type=-1,config=0", "type: \"-1\" is not a number");
	expect_perf_error("type=1,config=0,period=1000",
			  "unknown key \"period\" (type, config, frequency)");
}

static void expect_cpus(const char *list, const int *want, size_t nwant)
{
	int *cpus = NULL;
	size_t n = 99;

	CHECK_INT(elx_attach_parse_cpus(list, &cpus, &n), 0);
	CHECK_MEM(cpus, n * sizeof(*cpus), want, nwant * sizeof(*want));
	free(cpus);
}

static void test_parse_cpus(void)
{
	static const int four_and_five[] = { 0, 1, 2, 3, 5 };
	static const int seven[] = { 7 };
	int many[40];
	int *cpus;
	size_t n;

	expect_cpus("0-3,5\n", four_and_five, 5);
	expect_cpus("7", seven, 1);
	expect_cpus("", NULL, 0);
	/* Past the first allocation of 16. */
	for (int i = 0; i < 40; i++)
		many[i] = i;
	expect_cpus("0-39", many, 40);
	CHECK_INT(elx_attach_parse_cpus("3-1", &cpus, &n), -EINVAL);
	CHECK_INT(elx_attach_parse_cpus("x", &cpus, &n), -EINVAL);
	CHECK_INT(elx_attach_parse_cpus("1;2", &cpus, &n), -EINVAL);
	CHECK_INT(elx_attach_parse_cpus("-1", &cpus, &n), -EINVAL);
}

/* ---------------------------------------------------------------- the table */

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static size_t online_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	char buf[256];
	int *cpus;
	size_t n;

	CHECK(f);
	CHECK(fgets(buf, sizeof(buf), f));
	fclose(f);
	CHECK_INT(elx_attach_parse_cpus(buf, &cpus, &n), 0);
	free(cpus);
	return n;
}

static struct bpf_object *open_spec_object(const char *name)
{
	char path[512];
	struct bpf_object *obj;

	snprintf(path, sizeof(path), "%s/%s.bpf.o", ELX_SPEC_DIR, name);
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "opening %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return obj;
}

static struct bpf_program *program(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	CHECK(prog);
	return prog;
}

/* perf_event/: one link per online CPU, every one of them (and its perf
 * event fd) gone after the detach. */
static void test_perf_event_row(void)
{
	struct bpf_object *obj = open_spec_object("perf_event_test");
	struct bpf_program *prog = program(obj, "cpu_clock");
	struct bpf_link **links = NULL;
	size_t nlinks = 0, fds;
	char *err = NULL;

	CHECK_INT(bpf_program__type(prog), BPF_PROG_TYPE_PERF_EVENT);
	CHECK_INT(bpf_program__expected_attach_type(prog), BPF_PERF_EVENT);
	CHECK_INT(bpf_object__load(obj), 0);
	fds = open_fds();
	CHECK_INT(elx_attach_program(prog, &links, &nlinks, &err), 0);
	CHECK(err == NULL);
	CHECK_INT(nlinks, online_cpus());
	for (size_t i = 0; i < nlinks; i++)
		CHECK(bpf_link__fd(links[i]) >= 0);
	CHECK(open_fds() > fds);
	elx_attach_detach(prog, links, nlinks);
	CHECK_INT(open_fds(), fds);
	bpf_object__close(obj);
}

static __u32 xdp_prog_on(const char *ifname)
{
	__u32 id = 99;

	CHECK_INT(bpf_xdp_query_id((int)if_nametoindex(ifname), 0, &id), 0);
	return id;
}

/* xdp/<ifname>: the interface is looked up by name at attach time. The test
 * runs in a network namespace of its own, where elx-v0 is ours alone. */
static void test_xdp_row(void)
{
	struct bpf_object *obj = open_spec_object("xdp_test");
	struct bpf_program *prog = program(obj, "xdp_test_ipv4_packets");
	struct bpf_prog_info info = { 0 };
	__u32 info_len = sizeof(info);
	struct bpf_link **links = NULL;
	size_t nlinks = 0, fds;
	char *err = NULL;

	CHECK_STR(bpf_program__section_name(prog), "xdp/elx-v0");
	CHECK_INT(bpf_program__type(prog), BPF_PROG_TYPE_XDP);
	CHECK_INT(bpf_program__expected_attach_type(prog), BPF_XDP);
	CHECK_INT(bpf_object__load(obj), 0);
	CHECK_INT(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &info_len), 0);
	CHECK_INT(elx_attach_program(prog, &links, &nlinks, &err), -ENODEV);
	CHECK_STR(err, "no network interface \"elx-v0\"");
	CHECK(links == NULL);
	CHECK_INT(nlinks, 0);
	free(err);
	err = NULL;

	CHECK_INT(system("ip link add elx-v0 type veth peer name elx-v1"), 0);
	fds = open_fds();
	CHECK_INT(elx_attach_program(prog, &links, &nlinks, &err), 0);
	CHECK(err == NULL);
	CHECK_INT(nlinks, 1);
	CHECK_INT(xdp_prog_on("elx-v0"), info.id);
	elx_attach_detach(prog, links, nlinks);
	CHECK_INT(xdp_prog_on("elx-v0"), 0);
	CHECK_INT(open_fds(), fds);
	CHECK_INT(system("ip link del elx-v0"), 0);
	bpf_object__close(obj);
}

/* Any other section is libbpf's: one link, or libbpf's reason. */
static void test_libbpf_row(void)
{
	struct bpf_object *obj = open_spec_object("attach_fail");
	struct bpf_program *hit = program(obj, "attached_hit");
	struct bpf_program *never = program(obj, "never_attached");
	struct bpf_link **links = NULL;
	size_t nlinks = 0, fds;
	char *err = NULL;

	CHECK_INT(bpf_object__load(obj), 0);
	fds = open_fds();
	CHECK_INT(elx_attach_program(hit, &links, &nlinks, &err), 0);
	CHECK(err == NULL);
	CHECK_INT(nlinks, 1);
	CHECK(bpf_link__fd(links[0]) >= 0);
	elx_attach_detach(hit, links, nlinks);
	CHECK_INT(open_fds(), fds);
	links = NULL;
	nlinks = 0;
	CHECK_INT(elx_attach_program(never, &links, &nlinks, &err), -ENOENT);
	CHECK_STR(err, strerror(ENOENT));
	CHECK(links == NULL);
	CHECK_INT(nlinks, 0);
	free(err);
	CHECK_INT(open_fds(), fds);
	bpf_object__close(obj);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int main(void)
{
	test_parse_perf_event();
	test_parse_cpus();
	/* The failing tracepoint would have libbpf print its warning. */
	libbpf_set_print(quiet);
	CHECK_INT(unshare(CLONE_NEWNET), 0);
	CHECK_INT(elx_attach_register_handlers(), 0);
	CHECK_INT(elx_attach_register_handlers(), 0);
	test_perf_event_row();
	test_xdp_row();
	test_libbpf_row();
	printf("test_attach: all passed\n");
	return 0;
}
