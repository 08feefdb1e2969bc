/* Fan-in: see groups.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "groups.h"
#include "log.h"
#include "order.h"
#include "queue.h"
#include "sup.h"
#include "template.h"
#include "util.h"

enum gstate {
	G_OPEN,		/* jobs may still come, or run */
	G_DUE,		/* every job ended: its step is to be queued (or refused) */
	G_STEP,		/* its step is queued or running */
	G_ENDED,	/* its step ended, or will not run */
};

struct group {
	struct group	*hnext;		/* in its hash chain */
	struct group	*next;		/* in order of first appearance */
	struct group	*due_next;
	uint64_t	 idx;		/* 1-based, in order of first appearance */
	uint64_t	 jobs, ok, failed;
	uint64_t	 first_failed;	/* the first job that failed, 0 when it failed in an earlier run */
	enum gstate	 state;
	bool		 step_ok;
	char		 key[];
};

static struct {
	bool		 on;
	char		*key_tpl;	/* [jobs] group */
	char		*then;		/* [jobs] then, for a command: {group} made {} */
	char		*finally;
	bool		 sql;		/* steps are SQL: {group} is a string literal */
	bool		 mysql;		/* ... whose backslashes MySQL reads as escapes */
	struct group	**table;
	size_t		 cap, n;
	struct group	*first, *last;
	struct group	*due, *due_last;
	struct group	*shown;		/* the first group the progress line may show */
	uint64_t	 lines;		/* the input's, once it has ended */
	bool		 eof;
	uint64_t	 earlier_failed;	/* jobs an earlier run failed and this one skips */
	uint64_t	 steps_failed;
	bool		 finally_done;
} gs;

/* Append tpl to out with each {group} replaced by what put appends for key. */
static void
put_groups(struct buf *out, const char *tpl, void (*put)(struct buf *out, const char *key), const char *key)
{
	for (const char *p = tpl; *p != '\0'; ) {
		if (strncmp(p, "{group}", 7) == 0) {
			put(out, key);
			p += 7;
		} else {
			buf_add(out, p++, 1);
		}
	}
}

static void
put_placeholder(struct buf *out, const char *key)
{
	(void)key;
	buf_add(out, "{}", 2);
}

/* key as an SQL string literal: quotes doubled, and MySQL's backslashes too. */
static void
put_literal(struct buf *out, const char *key)
{
	buf_add(out, "'", 1);
	for (const char *k = key; *k != '\0'; k++) {
		if (*k == '\'' || (*k == '\\' && gs.mysql))
			buf_add(out, k, 1);
		buf_add(out, k, 1);
	}
	buf_add(out, "'", 1);
}

/* "{group}" becomes "{}", the placeholder the template code quotes. */
static char *
command_template(const char *then)
{
	struct buf b = { 0 };

	put_groups(&b, then, put_placeholder, NULL);
	buf_add(&b, "", 1);
	return b.data;
}

int
groups_check(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	const char *key = cfg->group != NULL ? "group" : cfg->then != NULL ? "then" : "finally";
	char why[256];

	if (cfg->group == NULL && cfg->then == NULL && cfg->finally == NULL)
		return 0;
	*line = cfg_line(cfg, "jobs", key);
	if (queue_on(cfg)) {
		snprintf(msg, msglen, "[jobs] %s: steps need the whole input in one run;"
		    " a queue's jobs are shared by many hosts", key);
		return -1;
	}
	if (strcmp(cfg->type, "command") != 0 && strcmp(cfg->type, "sql") != 0) {
		snprintf(msg, msglen, "[jobs] %s: steps are commands or SQL: %s jobs have none", key, cfg->type);
		return -1;
	}
	if (cfg->then != NULL && cfg->group == NULL) {
		*line = cfg_line(cfg, "jobs", "then");
		snprintf(msg, msglen, "[jobs] then runs once per group: give [jobs] group too (as group = {1})");
		return -1;
	}
	if (cfg->group != NULL && cfg->group[0] == '\0') {
		snprintf(msg, msglen, "[jobs] group: empty; give a field of the line, as {1}");
		return -1;
	}
	if (cfg->then != NULL && strcmp(cfg->type, "command") == 0) {
		char *t = command_template(cfg->then);
		const char *bad = tpl_check(t, why, sizeof(why));
		free(t);
		if (bad != NULL) {
			*line = cfg_line(cfg, "jobs", "then");
			snprintf(msg, msglen, "[jobs] then: %s", bad);
			return -1;
		}
	}
	return 0;
}

void
groups_init(const struct cfg *cfg)
{
	groups_free();
	gs.key_tpl = cfg->group != NULL ? xstrdup(cfg->group) : NULL;
	gs.finally = cfg->finally != NULL ? xstrdup(cfg->finally) : NULL;
	gs.on = cfg->group != NULL || cfg->finally != NULL;
	gs.sql = strcmp(cfg->type, "sql") == 0;
	gs.mysql = strcmp(cfg->driver, "mysql") == 0;
	gs.then = cfg->then == NULL ? NULL : gs.sql ? xstrdup(cfg->then) : command_template(cfg->then);
}

bool
groups_on(void)
{
	return gs.on;
}

static void
grow(void)
{
	struct group **old = gs.table;
	size_t oldcap = gs.cap;

	gs.cap = oldcap ? oldcap * 2 : 64;
	gs.table = xcalloc(gs.cap, sizeof(*gs.table));
	for (size_t i = 0; i < oldcap; i++) {
		for (struct group *g = old[i], *nx; g != NULL; g = nx) {
			nx = g->hnext;
			size_t h = (size_t)(hash_str(g->key) & (gs.cap - 1));
			g->hnext = gs.table[h];
			gs.table[h] = g;
		}
	}
	free(old);
}

static struct group *
find_or_add(const char *key)
{
	if ((gs.n + 1) * 2 > gs.cap)
		grow();
	size_t h = (size_t)(hash_str(key) & (gs.cap - 1));
	for (struct group *g = gs.table[h]; g != NULL; g = g->hnext)
		if (strcmp(g->key, key) == 0)
			return g;
	size_t klen = strlen(key);
	struct group *g = xcalloc(1, sizeof(*g) + klen + 1);
	memcpy(g->key, key, klen + 1);
	g->idx = ++gs.n;
	g->hnext = gs.table[h];
	gs.table[h] = g;
	if (gs.last != NULL)
		gs.last->next = g;
	else
		gs.first = gs.shown = g;
	gs.last = g;
	return g;
}

static void
make_due(struct group *g)
{
	if (g->state != G_OPEN || !gs.eof || g->ok + g->failed < g->jobs)
		return;
	g->state = G_DUE;
	g->due_next = NULL;
	if (gs.due_last != NULL)
		gs.due_last->due_next = g;
	else
		gs.due = g;
	gs.due_last = g;
}

struct group *
groups_line(const char *text, size_t len, bool earlier, bool earlier_ok)
{
	if (!gs.on)
		return NULL;
	if (earlier && !earlier_ok)
		gs.earlier_failed++;
	if (gs.key_tpl == NULL)
		return NULL;
	static struct buf key;
	buf_reset(&key);
	/* A NUL cuts the line (such a line fails anyway); the key is what comes before. */
	tpl_expand_raw(&key, gs.key_tpl, text, strnlen(text, len));
	buf_add(&key, "", 1);
	struct group *g = find_or_add(key.data);
	g->jobs++;
	if (earlier && earlier_ok)
		g->ok++;
	else if (earlier)
		g->failed++;
	return g;
}

void
groups_eof(uint64_t lines)
{
	if (!gs.on || gs.eof)
		return;
	gs.eof = true;
	gs.lines = lines;
	for (struct group *g = gs.first; g != NULL; g = g->next)
		make_due(g);
}

void
groups_job_end(const struct job *j, bool ok, const char *reason)
{
	struct group *g = j->grp;

	if (g == NULL)
		return;
	if (j->step == STEP_THEN) {
		g->state = G_ENDED;
		g->step_ok = ok;
		if (!ok)
			gs.steps_failed++;
		if (ok)
			log_info("group %.200s: %" PRIu64 " job%s and its step done", g->key, g->jobs,
			    g->jobs == 1 ? "" : "s");
		return;
	}
	if (ok) {
		g->ok++;
	} else {
		if (g->failed++ == 0)
			g->first_failed = j->seq;
		log_debug("group %.200s: job %" PRIu64 " failed (%s)", g->key, j->seq, reason);
	}
	make_due(g);
}

static struct job *
step_job(uint64_t seq, int kind, struct group *g, const char *tpl)
{
	struct buf text = { 0 };

	if (kind == STEP_FINALLY) {
		buf_add(&text, tpl, strlen(tpl));
	} else if (!gs.sql) {
		tpl_expand(&text, tpl, g->key, strlen(g->key));
	} else {
		put_groups(&text, tpl, put_literal, g->key);
	}
	struct job *j = job_new(seq, text.data, text.len);
	j->step = (unsigned char)kind;
	j->grp = g;
	free(text.data);
	return j;
}

struct job *
groups_next_step(bool all_done, bool failed, bool (*done)(uint64_t seq),
    bool (*done_ok)(uint64_t seq), char *why, size_t whylen)
{
	why[0] = '\0';
	if (!gs.on || !gs.eof)
		return NULL;
	while (gs.due != NULL) {
		struct group *g = gs.due;
		gs.due = g->due_next;
		if (gs.due == NULL)
			gs.due_last = NULL;
		if (gs.then == NULL) {
			g->state = G_ENDED;
			g->step_ok = g->failed == 0;
			continue;
		}
		uint64_t seq = gs.lines + g->idx;
		if (done(seq)) {
			/* An earlier run ended it: not again. */
			g->state = G_ENDED;
			g->step_ok = done_ok(seq);
			if (!g->step_ok)
				gs.steps_failed++;
			order_done(seq);
			continue;
		}
		g->state = G_STEP;
		struct job *j = step_job(seq, STEP_THEN, g, gs.then);
		if (g->failed > 0) {
			if (g->first_failed != 0)
				snprintf(why, whylen, "group %.200s: job %" PRIu64 " failed (%" PRIu64 " of %" PRIu64
				    "); its step is not run", g->key, g->first_failed, g->failed, g->jobs);
			else
				snprintf(why, whylen, "group %.200s: %" PRIu64 " of %" PRIu64 " jobs failed in an"
				    " earlier run; its step is not run", g->key, g->failed, g->jobs);
		}
		return j;
	}
	if (!all_done || gs.finally == NULL || gs.finally_done)
		return NULL;
	gs.finally_done = true;
	uint64_t seq = gs.lines + (gs.then != NULL ? gs.n : 0) + 1;
	if (done(seq)) {
		/* An earlier run ran it, or recorded that it could not. */
		order_done(seq);
		return NULL;
	}
	struct job *j = step_job(seq, STEP_FINALLY, NULL, gs.finally);
	if (failed || gs.earlier_failed > 0 || gs.steps_failed > 0)
		snprintf(why, whylen, "not every job%s succeeded; finally is not run",
		    gs.then != NULL ? " and step" : "");
	return j;
}

void
groups_progress(char *out, size_t len)
{
	size_t used = 0;
	int shown = 0;

	out[0] = '\0';
	while (gs.shown != NULL && gs.shown->state == G_ENDED)
		gs.shown = gs.shown->next;
	for (struct group *g = gs.shown; g != NULL && shown < 8 && used + 1 < len; g = g->next) {
		if (g->state == G_ENDED || g->ok + g->failed == 0)
			continue;
		int n = snprintf(out + used, len - used, "%s%.24s %" PRIu64 "/%" PRIu64 "%s", shown ? " " : "",
		    g->key, g->ok, g->jobs, g->state == G_STEP ? "+" : g->failed ? "!" : "");
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)n;
		shown++;
	}
}

void
groups_summary(char *out, size_t len)
{
	uint64_t ran = 0, notrun = 0;

	out[0] = '\0';
	if (gs.key_tpl == NULL)
		return;
	for (struct group *g = gs.first; g != NULL; g = g->next) {
		if (g->state == G_ENDED && g->step_ok)
			ran++;
		else
			notrun++;
	}
	if (gs.then == NULL)
		snprintf(out, len, "%zu group%s", gs.n, gs.n == 1 ? "" : "s");
	else
		snprintf(out, len, "%zu group%s: %" PRIu64 " step%s done, %" PRIu64 " not", gs.n,
		    gs.n == 1 ? "" : "s", ran, ran == 1 ? "" : "s", notrun);
}

void
groups_free(void)
{
	for (struct group *g = gs.first, *nx; g != NULL; g = nx) {
		nx = g->next;
		free(g);
	}
	free(gs.table);
	free(gs.key_tpl);
	free(gs.then);
	free(gs.finally);
	memset(&gs, 0, sizeof(gs));
}
