/* The progress bar: see progress.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

static bool enabled;
static bool shown;
static double last_draw;

void
progress_init(bool on)
{
	enabled = on;
}

bool
progress_enabled(void)
{
	return enabled;
}

static int
term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

static void
fmt_eta(char *out, size_t outlen, double secs)
{
	unsigned long s = (unsigned long)(secs + 0.5);

	if (s >= 3600)
		snprintf(out, outlen, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, outlen, "%lu:%02lu", s / 60, s % 60);
}

bool
progress_due(bool force)
{
	return enabled && (force || now_mono() - last_draw >= 0.2);
}

void
progress_draw(uint64_t done, uint64_t failed, uint64_t total, double rate, const char *extra, bool force)
{
	char info[128], eta[32], line[512];
	int width, n;

	if (!progress_due(force))
		return;
	last_draw = now_mono();
	width = term_width();
	if (total != 0 && done > total)
		total = done;	/* the steps of [jobs] then and finally, past the input's count */
	if (total == 0) {
		n = snprintf(line, sizeof(line), "\r%llu done, %llu failed, %.1f/s\033[K",
		    (unsigned long long)done, (unsigned long long)failed, rate);
	} else {
		if (rate > 0)
			fmt_eta(eta, sizeof(eta), (double)(total - done) / rate);
		else
			snprintf(eta, sizeof(eta), "--:--");
		/*
		 * Every field at a width fixed for the run, so that the bar
		 * keeps its length as the numbers grow (9/30, then 10/30).
		 */
		int digits = snprintf(NULL, 0, "%llu", (unsigned long long)total);
		snprintf(info, sizeof(info), " %*llu/%llu %3.0f%% %*llu failed %7.1f/s ETA %8s",
		    digits, (unsigned long long)done, (unsigned long long)total,
		    100.0 * (double)done / (double)total, digits, (unsigned long long)failed, rate, eta);
		int barw = width - (int)strlen(info) - 4;
		if (barw < 10)
			barw = 10;
		if (barw > 50)
			barw = 50;
		/* Room for the groups: a short bar, of one length for the run. */
		if (extra != NULL)
			barw = 10;
		int fill = (int)((double)barw * (double)done / (double)total);
		char bar[64];
		for (int i = 0; i < barw; i++)
			bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
		bar[barw] = '\0';
		n = snprintf(line, sizeof(line), "\r[%s]%s\033[K", bar, info);
	}
	if (n > 0 && extra != NULL && extra[0] != '\0') {
		/*
		 * After the line's text (without its "\033[K"), as many whole
		 * groups as the terminal has room for; the "\r" takes none.
		 */
		size_t len = strlen(line) - 3, cols = len - 1, room = 0;
		for (size_t i = 0; extra[i] != '\0'; i++)
			if ((extra[i + 1] == ' ' || extra[i + 1] == '\0') && cols + 3 + i + 1 < (size_t)width)
				room = i + 1;
		if (room > 0 && len + room + 8 < sizeof(line))
			snprintf(line + len, sizeof(line) - len, " | %.*s\033[K", (int)room, extra);
	}
	if (n > 0)
		(void)write_all(STDERR_FILENO, line, strlen(line));
	shown = true;
}

void
progress_clear(void)
{
	if (!shown)
		return;
	(void)write_all(STDERR_FILENO, "\r\033[K", 4);
	shown = false;
	last_draw = 0;
}

void
progress_finish(void)
{
	/* Leave the final bar on screen; what follows starts on a new line. */
	if (shown)
		(void)write_all(STDERR_FILENO, "\n", 1);
	shown = false;
}
