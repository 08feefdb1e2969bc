/*
 * Command jobs: the job line (or [command] template filled in from it) is
 * run with "shell -c" in its own process group, so that a timeout or a
 * stop can signal everything the command started.  Its stdout and stderr
 * go to the worker's scratch files and reach mpworker's own output as one
 * block when it ends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "job.h"
#include "template.h"
#include "util.h"

/* How long a command has between SIGTERM and SIGKILL. */
#define KILL_GRACE	1.0

static struct buf cmdline;

static void
build_command(struct job_ctx *ctx)
{
	buf_reset(&cmdline);
	if (ctx->cfg->template != NULL && !ctx->step)
		tpl_expand(&cmdline, ctx->cfg->template, ctx->text, ctx->len);
	else
		buf_add(&cmdline, ctx->text, ctx->len);
}

/*
 * In the child, between fork and exec: only async-signal-safe calls.
 * The child waits on the go pipe until the worker has told the parent its
 * process group, so that the parent can kill the command should the
 * worker die at any moment after this; if the worker dies first, the
 * pipe reads end of file and the command never runs.  That needs the
 * worker to be the only holder of the write end: the child closes its
 * own copy first, or it would wait for itself forever.
 */
static void __attribute__((noreturn))
exec_child(struct job_ctx *ctx, const char *shell, const int go[2])
{
	sigset_t none;
	char c;

	close(go[1]);
	setpgid(0, 0);
	if (read(go[0], &c, 1) != 1)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(ctx->out_fd, STDOUT_FILENO) < 0 || dup2(ctx->err_fd, STDERR_FILENO) < 0)
		_exit(127);
	execl(shell, shell, "-c", cmdline.data, (char *)NULL);
	static const char msg[] = "mpworker: cannot run the shell\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(127);
}

/*
 * Wait for the child, watching the worker's signalfd: SIGCHLD ends the
 * wait, SIGTERM (mpworker stopping) and the job's deadline signal the
 * child's process group, first with SIGTERM and then with SIGKILL.
 */
static int
wait_child(struct job_ctx *ctx, pid_t pid, double deadline)
{
	double kill_at = 0;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;

		double now = now_mono();
		if (deadline > 0 && now >= deadline && kill_at == 0) {
			ctx->res.flags |= JR_TIMEOUT;
			killpg(pid, SIGTERM);
			kill_at = now + KILL_GRACE;
		}
		if (kill_at > 0 && now >= kill_at) {
			killpg(pid, SIGKILL);
			kill_at = now + 3600;
		}
		double until = kill_at > 0 ? kill_at : deadline;
		if (ctx->tick != NULL && (until == 0 || until > now + TICK_SECONDS))
			until = now + TICK_SECONDS;
		int timeout = until > 0 ? poll_ms(until - now) : -1;
		if (ctx->tick != NULL)
			ctx->tick(ctx);
		struct pollfd pfd = { .fd = ctx->sigfd, .events = POLLIN };
		if (poll(&pfd, 1, timeout) > 0) {
			struct signalfd_siginfo si;
			while (read(ctx->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM && !ctx->terminated) {
					ctx->terminated = true;
					ctx->res.flags |= JR_ABORTED;
					killpg(pid, SIGTERM);
					kill_at = now_mono() + KILL_GRACE;
				}
			}
		}
	}
	/* After a kill, nothing the command started may outlive it. */
	if (kill_at > 0)
		killpg(pid, SIGKILL);
	return status;
}

static void
command_run(struct job_ctx *ctx)
{
	struct job_result *res = &ctx->res;
	const char *shell = ctx->cfg->shell;
	double deadline = 0;
	pid_t pid;
	int status;

	build_command(ctx);
	if (ctx->dry_run) {
		buf_add(&ctx->out, cmdline.data, cmdline.len);
		buf_add(&ctx->out, "\n", 1);
		return;
	}
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		res->exitval = 255;
		snprintf(res->reason, sizeof(res->reason), "cannot make a pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		res->exitval = 255;
		snprintf(res->reason, sizeof(res->reason), "cannot fork: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		return;
	}
	if (pid == 0)
		exec_child(ctx, shell, go);
	close(go[0]);
	setpgid(pid, pid);	/* as the child does: whichever runs first wins */
	ctx->spawned(ctx, pid);
	(void)!write(go[1], "g", 1);
	close(go[1]);
	if (ctx->cfg->job_timeout > 0)
		deadline = now_mono() + ctx->cfg->job_timeout;
	status = wait_child(ctx, pid, deadline);
	ctx->spawned(ctx, 0);
	/* Background processes of the command's still hold its output files. */
	if (killpg(pid, 0) == 0)
		ctx->leftovers = true;
	if (status < 0) {
		res->exitval = 255;
		snprintf(res->reason, sizeof(res->reason), "lost the command: %s", strerror(errno));
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		if (res->flags & JR_TIMEOUT)
			snprintf(res->reason, sizeof(res->reason), "timed out after %gs, killed by signal %d",
			    ctx->cfg->job_timeout, res->signal);
		else
			snprintf(res->reason, sizeof(res->reason), "killed by signal %d (%s)",
			    res->signal, strsignal(res->signal));
	} else {
		res->exitval = WEXITSTATUS(status);
		if (res->flags & JR_TIMEOUT) {
			/* It exited on its own after our SIGTERM: still a timeout. */
			res->signal = SIGTERM;
			snprintf(res->reason, sizeof(res->reason), "timed out after %gs", ctx->cfg->job_timeout);
		} else if (res->exitval != 0) {
			snprintf(res->reason, sizeof(res->reason), "exit status %d", res->exitval);
		}
	}
}

/* A template whose placeholders the shell would not read as plain words is refused. */
static int
command_check(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	char why[400];

	if (cfg->template == NULL || tpl_check(cfg->template, why, sizeof(why)) == NULL)
		return 0;
	*line = cfg_line(cfg, "command", "template");
	snprintf(msg, msglen, "[command] template: %s", why);
	return -1;
}

static void
command_fini(struct job_ctx *ctx)
{
	(void)ctx;
	buf_free(&cmdline);
}

const struct job_kind job_command = {
	.name = "command",
	.needs_db = false,
	.check = command_check,
	.run = command_run,
	.fini = command_fini,
};
