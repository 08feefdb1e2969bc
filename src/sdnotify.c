/* The systemd notify protocol: see sdnotify.h. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static struct sockaddr_un addr;
static socklen_t addrlen;
static double watchdog;

void
sdn_init(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");

	if (sock != NULL && (sock[0] == '/' || sock[0] == '@') &&
	    strlen(sock) < sizeof(addr.sun_path)) {
		addr.sun_family = AF_UNIX;
		memcpy(addr.sun_path, sock, strlen(sock));
		if (sock[0] == '@')
			addr.sun_path[0] = '\0';	/* abstract namespace */
		addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock));
	}
	if (usec != NULL && (pid == NULL || atol(pid) == (long)getpid()))
		watchdog = strtod(usec, NULL) / 1e6;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

void
sdn_send(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd, n;

	if (addrlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen);
	close(fd);
}

double
sdn_watchdog_interval(void)
{
	return watchdog;
}
