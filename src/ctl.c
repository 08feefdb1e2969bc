/* The status socket: see ctl.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "supervisor.h"

#define REQUEST_MAX	64	/* a request is one short line */
#define CLIENT_TIMEOUT	5.0	/* to send the request, and to read the answer */
#define PROBE_TIMEOUT	2	/* seconds a service has to say which INI it runs */
#define ANSWER_TIMEOUT	10	/* ... to answer --status or --metrics */
#define RELOAD_WAIT	90	/* ... to end a reload (it gives one up after 60) */
/* Where systemd makes a system unit's RuntimeDirectory=: the units' are mpworker*. */
#define RUNTIME_SOCKETS	"/run/mpworker*/status.sock"

struct client {
	int		 fd;		/* -1: a free place */
	char		 req[REQUEST_MAX];
	size_t		 reqlen;
	bool		 waiting;	/* for a reload's outcome */
	struct buf	 out;
	double		 deadline;
};

/* The clients' places are set up by ctl_open: nothing else looks at them while fd is -1. */
static struct {
	int			 fd;
	char			*path;
	char			*config;	/* the INI's real path, for "config" */
	const struct ctl_ops	*ops;
	struct client		 c[CTL_CLIENTS];
} ctl = { .fd = -1 };

static int
set_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int
ctl_open(const char *path, const char *config, const struct ctl_ops *ops, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;

	for (int i = 0; i < CTL_CLIENTS; i++)
		ctl.c[i].fd = -1;
	if (set_addr(&sa, path) < 0)
		return snprintf(err, errlen, "[status] socket %s: the path is too long for a socket", path), -1;
	/* A socket left by a run that ended without removing it: replaced, unless someone answers on it. */
	if (lstat(path, &st) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && S_ISSOCK(st.st_mode) &&
		    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			return snprintf(err, errlen, "[status] socket %s: another mpworker answers on it", path), -1;
		if (!S_ISSOCK(st.st_mode))
			return snprintf(err, errlen, "[status] socket %s: there is a file there that is no socket",
			    path), -1;
		unlink(path);
	}
	ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl.fd < 0)
		return snprintf(err, errlen, "[status] socket: %s", strerror(errno)), -1;
	/* Owner-only from the start: no moment in which others could connect. */
	mode_t old = umask(0177);
	int rc = bind(ctl.fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(ctl.fd, CTL_CLIENTS) < 0) {
		snprintf(err, errlen, "[status] socket %s: %s", path, strerror(errno));
		close(ctl.fd);
		ctl.fd = -1;
		return -1;
	}
	ctl.path = xstrdup(path);
	ctl.ops = ops;
	if (config != NULL)
		ctl.config = realpath(config, NULL);
	return 0;
}

static void
drop(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	c->reqlen = 0;
	c->waiting = false;
	buf_free(&c->out);
}

size_t
ctl_pollfds(struct pollfd *pfd)
{
	size_t n = 0;

	if (ctl.fd < 0)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = ctl.fd, .events = POLLIN };
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct client *c = &ctl.c[i];
		if (c->fd < 0 || c->waiting)
			continue;
		pfd[n++] = (struct pollfd){ .fd = c->fd, .events = buf_pending(&c->out) > 0 ? POLLOUT : POLLIN };
	}
	return n;
}

static void
answer(struct client *c)
{
	c->req[c->reqlen] = '\0';
	char *nl = strchr(c->req, '\n');
	if (nl != NULL)
		*nl = '\0';
	c->deadline = now_mono() + CLIENT_TIMEOUT;
	if (strcmp(c->req, "status") == 0) {
		ctl.ops->status(&c->out, false);
	} else if (strcmp(c->req, "status json") == 0) {
		ctl.ops->status(&c->out, true);
	} else if (strcmp(c->req, "metrics") == 0) {
		ctl.ops->metrics(&c->out);
	} else if (strcmp(c->req, "config") == 0) {
		buf_printf(&c->out, "%s\n", ctl.config != NULL ? ctl.config : "-");
	} else if (strcmp(c->req, "reload") == 0) {
		char why[512];
		if (ctl.ops->reload(why, sizeof(why)) == 0) {
			c->waiting = true;
			return;
		}
		buf_printf(&c->out, "failed: %s\n", why);
	} else {
		buf_printf(&c->out, "unknown request; ask for status, status json, metrics, config or reload\n");
	}
}

static void
accept_one(void)
{
	int fd = accept4(ctl.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct client *c = &ctl.c[i];
		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->reqlen = 0;
		c->deadline = now_mono() + CLIENT_TIMEOUT;
		return;
	}
	close(fd);	/* as many clients as we serve already */
}

void
ctl_event(const struct pollfd *p)
{
	if (p->fd == ctl.fd) {
		accept_one();
		return;
	}
	struct client *c = NULL;
	for (int i = 0; i < CTL_CLIENTS && c == NULL; i++)
		if (ctl.c[i].fd == p->fd)
			c = &ctl.c[i];
	if (c == NULL)
		return;
	if (buf_pending(&c->out) > 0) {
		ssize_t w = write(c->fd, c->out.data + c->out.off, buf_pending(&c->out));
		if (w > 0)
			c->out.off += (size_t)w;
		if ((w < 0 && errno != EAGAIN) || buf_pending(&c->out) == 0)
			drop(c);
		return;
	}
	ssize_t r = read(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r <= 0) {
		drop(c);
		return;
	}
	c->reqlen += (size_t)r;
	if (memchr(c->req, '\n', c->reqlen) != NULL)
		answer(c);
	else if (c->reqlen >= sizeof(c->req) - 1)
		drop(c);	/* no request is that long */
}

void
ctl_tick(double now)
{
	if (ctl.fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl.c[i].fd >= 0 && !ctl.c[i].waiting && now >= ctl.c[i].deadline)
			drop(&ctl.c[i]);
}

void
ctl_reload_done(bool ok, const char *what)
{
	if (ctl.fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct client *c = &ctl.c[i];
		if (c->fd < 0 || !c->waiting)
			continue;
		c->waiting = false;
		c->deadline = now_mono() + CLIENT_TIMEOUT;
		buf_printf(&c->out, "%s%s\n", ok ? "ok: " : "failed: ", what);
	}
}

void
ctl_close(void)
{
	if (ctl.fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl.c[i].fd >= 0)
			drop(&ctl.c[i]);
	close(ctl.fd);
	unlink(ctl.path);
	ctl.fd = -1;
	free(ctl.path);
	ctl.path = NULL;
	free(ctl.config);
	ctl.config = NULL;
}

/*
 * Send request to the socket at path and read the whole answer into in,
 * waiting at most timeout seconds to connect, to send, and for each read.
 * 0, or -1 with errno (EAGAIN: it took too long).
 */
static int
ask(const char *path, const char *request, struct buf *in, int timeout)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char line[REQUEST_MAX];
	char chunk[4096];
	ssize_t r;

	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = timeout };
	snprintf(line, sizeof(line), "%s\n", request);
	if (set_addr(&sa, path) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write_all(fd, line, strlen(line)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(in, chunk, (size_t)r);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 ? -1 : 0;
}

/* Whether the service answering on path runs the INI whose real path is want. */
static bool
runs(const char *path, const char *want)
{
	struct buf in = { 0 };
	bool yes = ask(path, "config", &in, PROBE_TIMEOUT) == 0 && in.len == strlen(want) + 1 &&
	    memcmp(in.data, want, in.len - 1) == 0 && in.data[in.len - 1] == '\n';

	buf_free(&in);
	return yes;
}

const char *
ctl_path(const char *configured, const char *config)
{
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
	const char *rd = getenv("RUNTIME_DIRECTORY");

	if (configured != NULL)
		return configured;
	if (rd != NULL && rd[0] == '/') {
		/* Several directories are separated by colons: the first. */
		snprintf(path, sizeof(path), "%.*s/status.sock", (int)strcspn(rd, ":"), rd);
		return path;
	}
	if (config == NULL)
		return NULL;
	/* An operator's shell: ask each unit's socket which INI it runs. */
	char *want = realpath(config, NULL);
	glob_t g;
	const char *found = NULL;
	if (want != NULL && glob(RUNTIME_SOCKETS, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && found == NULL; i++)
			if (runs(g.gl_pathv[i], want)) {
				snprintf(path, sizeof(path), "%s", g.gl_pathv[i]);
				found = path;
			}
		globfree(&g);
	}
	free(want);
	return found;
}

int
ctl_request(const char *path, const char *request)
{
	struct buf in = { 0 };
	int wait = strcmp(request, "reload") == 0 ? RELOAD_WAIT : ANSWER_TIMEOUT;

	if (ask(path, request, &in, wait) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			log_errorx("the mpworker on %s did not answer within %d s", path, wait);
		else
			log_errorx("no mpworker answers on %s: %s (is the service running?)", path, strerror(errno));
		buf_free(&in);
		return MPW_EXIT_USAGE;
	}
	int rc = MPW_EXIT_OK;
	if (in.len == 0) {
		log_errorx("%s: the service closed the connection without an answer", path);
		rc = MPW_EXIT_USAGE;
	} else if (in.len >= 7 && memcmp(in.data, "failed:", 7) == 0) {
		fwrite(in.data, 1, in.len, stderr);
		rc = MPW_EXIT_FAILED;
	} else {
		fwrite(in.data, 1, in.len, stdout);
	}
	buf_free(&in);
	return rc;
}
