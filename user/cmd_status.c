// SPDX-License-Identifier: MIT
/* `gomaptrace status`: ask the running daemon (daemon_ctl.c). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"

#define REPLY_WAIT_MS	5000

struct status_opts {
	bool json;
	const char *run_dir;
};

enum { OPT_JSON = 0x100, OPT_RUN_DIR };

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace status [--json]\n\n"
		"Shows what the running 'gomaptrace daemon' guards: its "
		"processes, their cost\nagainst the budget, and the crashes "
		"found so far. Root only (the daemon's socket\nis mode "
		"0600).\n\n"
		"      --json           the schema gomaptrace.status/1\n"
		"      --run-dir DIR    the daemon's (default /run/gomaptrace)\n"
		CLI_HELP_HELP "\n"
		"Examples:\n"
		"  gomaptrace status --json | jq .targets\n"
		"  gomaptrace status --run-dir /run/gomaptrace\n");
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct status_opts *o = ctx;

	if (c == OPT_JSON)
		o->json = true;
	else if (c == OPT_RUN_DIR)
		o->run_dir = arg;
	else
		return 2;
	return 0;
}

static int ask(int fd, bool json)
{
	const char *req = json ? "status json\n" : "status\n";
	char buf[4096];
	ssize_t n;
	bool any = false;

	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		return fail("cannot ask the daemon: %s", strerror(errno));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, REPLY_WAIT_MS) <= 0)
			return fail("the daemon did not answer within %d s",
				    REPLY_WAIT_MS / 1000);
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		any = true;
	}
	if (!any)
		return fail("the daemon closed the connection without an "
			    "answer (only root may ask)");
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		CLI_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "status", ":h", longopts, usage };
	struct status_opts o = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir;
	int fd, ret;

	ret = cli_parse(&cmd, argc, argv, parse_opt, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_no_operands(&cmd, argc, argv);
	if (ret)
		return ret;
	dir = daemon_run_dir(o.run_dir);
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path),
			     "%s/daemon.sock", dir) >= sizeof(sa.sun_path))
		return fail("%s: too long for a socket path", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = errno;
		close(fd);
		if (ret == ENOENT || ret == ECONNREFUSED)
			return fail("no gomaptrace daemon is running (nothing "
				    "listens on %s)", sa.sun_path);
		if (ret == EACCES || ret == EPERM)
			return fail("permission denied on %s: only root may "
				    "ask the daemon", sa.sun_path);
		return fail("cannot reach the daemon at %s: %s", sa.sun_path,
			    strerror(ret));
	}
	ret = ask(fd, o.json);
	close(fd);
	return ret;
}
