/* The INI file: see cfg.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "cfg.h"
#include "db.h"
#include "groups.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "queue.h"
#include "util.h"

enum cfg_type { T_INT, T_DURATION, T_STRING, T_ENUM, T_LIST, T_BOOL };

#define F_PATH		0x01	/* a path: relative ones start at the INI's directory */
#define F_SECRET	0x02	/* never printed */
#define F_CODE		0x04	/* a command or SQL: " ;" in it would end it early */

struct cfg_key {
	const char		*section;
	const char		*name;
	enum cfg_type		 type;
	size_t			 off;
	const char		*def;		/* parsed like a value from the file */
	const char *const	*choices;	/* T_ENUM */
	double			 min, max;	/* T_INT, T_DURATION */
	unsigned		 flags;
};

static const char *const drivers[] = { "postgresql", "mysql", "sqlite", "none", NULL };
static const char *const types[] = { "sql", "rename", "command", NULL };
static const char *const on_missing[] = { "skip", "fail", NULL };
static const char *const splits[] = { "line", "statement", NULL };
static const char *const sources[] = { "file", "queue", NULL };

#define O(f) offsetof(struct cfg, f)

/* The longest line, newline not counted, that inih reads whole. */
#if HAVE_DECL_INI_MAX_LINE && HAVE_DECL_INI_ALLOW_REALLOC
#define INI_LINE_MAX	(1u << 20)
#else
#define INI_LINE_MAX	((unsigned)INI_MAX_LINE - 2)
#endif
static const struct cfg_key keys[] = {
	{ "pool", "workers",             T_INT,      O(workers), NULL, NULL, 1, 4096, 0 },
	{ "pool", "max_jobs_per_worker", T_INT,      O(max_jobs_per_worker), "0", NULL, 0, 1e15, 0 },
	{ "pool", "job_timeout",         T_DURATION, O(job_timeout), "0", NULL, 0, 1e9, 0 },
	{ "pool", "retries",             T_INT,      O(retries), "0", NULL, 0, 1000, 0 },
	{ "pool", "joblog",              T_STRING,   O(joblog), NULL, NULL, 0, 0, F_PATH },
	{ "pool", "stop_timeout",        T_DURATION, O(stop_timeout), "30", NULL, 0, 1e9, 0 },
	{ "pool", "halt",                T_STRING,   O(halt), "never", NULL, 0, 0, 0 },

	{ "database", "driver",          T_ENUM,     O(driver), "none", drivers, 0, 0, 0 },
	{ "database", "host",            T_STRING,   O(host), NULL, NULL, 0, 0, 0 },
	{ "database", "port",            T_INT,      O(port), "0", NULL, 0, 65535, 0 },
	{ "database", "socket",          T_STRING,   O(socket), NULL, NULL, 0, 0, F_PATH },
	{ "database", "user",            T_STRING,   O(user), NULL, NULL, 0, 0, 0 },
	{ "database", "password",        T_STRING,   O(password), NULL, NULL, 0, 0, F_SECRET },
	{ "database", "password_file",   T_STRING,   O(password_file), NULL, NULL, 0, 0, F_PATH },
	{ "database", "dbname",          T_STRING,   O(dbname), NULL, NULL, 0, 0, 0 },
	{ "database", "path",            T_STRING,   O(db_path), NULL, NULL, 0, 0, F_PATH },
	{ "database", "conninfo",        T_STRING,   O(conninfo), NULL, NULL, 0, 0, F_SECRET },
	{ "database", "connect_timeout", T_DURATION, O(connect_timeout), "5", NULL, 0, 3600, 0 },
	{ "database", "create",          T_BOOL,     O(db_create), "no", NULL, 0, 0, 0 },
	{ "database", "init",            T_LIST,     O(init), NULL, NULL, 0, 0, F_CODE },

	{ "jobs", "type",                T_ENUM,     O(type), "command", types, 0, 0, 0 },
	{ "jobs", "file",                T_STRING,   O(file), NULL, NULL, 0, 0, F_PATH },
	{ "jobs", "job",                 T_LIST,     O(job), NULL, NULL, 0, 0, F_CODE },
	{ "jobs", "split",               T_ENUM,     O(split), "line", splits, 0, 0, 0 },
	{ "jobs", "source",              T_ENUM,     O(source), "file", sources, 0, 0, 0 },
	{ "jobs", "group",               T_STRING,   O(group), NULL, NULL, 0, 0, 0 },
	{ "jobs", "then",                T_STRING,   O(then), NULL, NULL, 0, 0, F_CODE },
	{ "jobs", "finally",             T_STRING,   O(finally), NULL, NULL, 0, 0, F_CODE },

	{ "queue", "table",              T_STRING,   O(q_table), "mpworker_jobs", NULL, 0, 0, 0 },
	{ "queue", "name",               T_STRING,   O(q_name), "default", NULL, 0, 0, 0 },
	{ "queue", "lease",              T_DURATION, O(q_lease), "30", NULL, 1, 86400, 0 },
	{ "queue", "batch",              T_INT,      O(q_batch), "64", NULL, 1, QUEUE_BATCH_MAX, 0 },
	{ "queue", "attempts",           T_INT,      O(q_attempts), "3", NULL, 1, 1000, 0 },
	{ "queue", "backoff",            T_DURATION, O(q_backoff), "1", NULL, 0, 86400, 0 },
	{ "queue", "backoff_max",        T_DURATION, O(q_backoff_max), "300", NULL, 0, 86400 * 7, 0 },
	{ "queue", "poll",               T_DURATION, O(q_poll), "1", NULL, 0.01, 3600, 0 },
	{ "queue", "priority",           T_INT,      O(q_priority), "0", NULL, -1000000, 1000000, 0 },

	{ "rename", "directory",         T_STRING,   O(directory), NULL, NULL, 0, 0, F_PATH },
	{ "rename", "extensions",        T_STRING,   O(extensions), NULL, NULL, 0, 0, 0 },
	{ "rename", "lookup",            T_STRING,   O(lookup), NULL, NULL, 0, 0, F_CODE },
	{ "rename", "on_missing",        T_ENUM,     O(on_missing), "skip", on_missing, 0, 0, 0 },
	{ "rename", "recursive",         T_BOOL,     O(recursive), "no", NULL, 0, 0, 0 },
	{ "rename", "watch",             T_BOOL,     O(watch), "no", NULL, 0, 0, 0 },

	{ "sql", "batch",                T_INT,      O(sql_batch), "1", NULL, 1, 10000, 0 },
	{ "sql", "pipeline",             T_BOOL,     O(sql_pipeline), "yes", NULL, 0, 0, 0 },
	{ "sql", "pipeline_depth",       T_INT,      O(sql_depth), "256", NULL, 1, 4096, 0 },
	{ "sql", "statement",            T_STRING,   O(sql_statement), NULL, NULL, 0, 0, F_CODE },
	{ "sql", "ledger",               T_STRING,   O(sql_ledger), NULL, NULL, 0, 0, 0 },

	{ "output", "line_buffer",       T_BOOL,     O(line_buffer), "no", NULL, 0, 0, 0 },
	{ "output", "tag",               T_BOOL,     O(tag), "no", NULL, 0, 0, 0 },
	{ "output", "keep_order",        T_BOOL,     O(keep_order), "no", NULL, 0, 0, 0 },
	{ "output", "results",           T_STRING,   O(results), NULL, NULL, 0, 0, F_PATH },
	{ "status", "socket",            T_STRING,   O(status_socket), NULL, NULL, 0, 0, F_PATH },
	{ "status", "listen",            T_STRING,   O(status_listen), NULL, NULL, 0, 0, 0 },

	{ "command", "template",         T_STRING,   O(template), NULL, NULL, 0, 0, F_CODE },
	{ "command", "shell",            T_STRING,   O(shell), "/bin/sh", NULL, 0, 0, 0 },
};
#undef O
#define NKEYS MPW_ARRAY_LEN(keys)

/* State of one parse: where inih is in the file, and what went wrong. */
struct parse {
	struct cfg	*cfg;
	FILE		*f;
	int		 line;		/* line inih is on */
	int		 at_line_start;
	int		 section_line;	/* line of the last [section] header */
	bool		 seen_sep;	/* this line has had its '=' (or ':') */
	bool		 cut_comment;	/* and then a ';' after a blank: inih ends the value there */
	char		 prev;		/* the last character read */
	int		 bad_section_line; /* last unknown section reported */
	struct {
		char	 name[16];
		int	 line;
	}		 sections[12];	/* where each section header first stood */
	int		 errors;
	struct buf	 err;
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errors++ >= 20)
		return;
	if (line > 0)
		buf_printf(&p->err, "%s:%d: %s\n", p->cfg->path, line, msg);
	else
		buf_printf(&p->err, "%s: %s\n", p->cfg->path, msg);
}

static const char *
type_word(enum cfg_type t)
{
	switch (t) {
	case T_INT:      return "a whole number";
	case T_DURATION: return "a duration (seconds, or a number with ms, s, m or h)";
	case T_BOOL:     return "yes or no";
	default:         return "a value";
	}
}

int
cfg_parse_duration(const char *s, double *secs)
{
	static const struct { const char *suffix; double mult; } units[] = {
		{ "", 1 }, { "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0 || isspace((unsigned char)*s))
		return -1;
	for (size_t i = 0; i < MPW_ARRAY_LEN(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			*secs = v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

static int
parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || isspace((unsigned char)*s))
		return -1;
	*out = v;
	return 0;
}

/* Levenshtein distance, for "did you mean" on a misspelt key. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (lb >= MPW_ARRAY_LEN(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *
suggest(const char *section, const char *name)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < NKEYS; i++) {
		if (section != NULL && strcmp(keys[i].section, section) != 0)
			continue;
		size_t d = edit_distance(name, keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

/*
 * Why [section] name is no key: with where it belongs when it is a key of
 * another section (when home), or the key it is likely a misspelling of.
 */
static void
unknown_key(const char *section, const char *name, char *msg, size_t msglen, bool home)
{
	const char *s = suggest(section, name);

	for (size_t i = 0; home && i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			snprintf(msg, msglen, "[%s] %s: unknown key here: %s belongs in [%s]", section, name, name,
			    keys[i].section);
			return;
		}
	}
	if (s != NULL)
		snprintf(msg, msglen, "[%s] %s: unknown key (did you mean '%s'?)", section, name, s);
	else
		snprintf(msg, msglen, "[%s] %s: unknown key", section, name);
}

static int
known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

static char *
resolve_path(const struct cfg *cfg, const char *v)
{
	if (cfg->dir == NULL || v[0] == '/' || strcmp(v, "-") == 0 || v[0] == '\0')
		return xstrdup(v);
	return xasprintf("%s/%s", cfg->dir, v);
}

/*
 * Store one value for key k.  Returns NULL, or a message saying why the
 * value is bad.
 */
static const char *
set_value(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msglen)
{
	void *dst = (char *)cfg + k->off;
	long l;
	double d;

	switch (k->type) {
	case T_INT:
		if (parse_long(v, &l) < 0 || l < k->min || l > k->max) {
			if (k->max >= (double)LONG_MAX)
				snprintf(msg, msglen, "'%s' is not %s of at least %.0f", v, type_word(k->type), k->min);
			else
				snprintf(msg, msglen, "'%s' is not %s from %.0f to %.0f", v, type_word(k->type), k->min, k->max);
			return msg;
		}
		*(long *)dst = l;
		return NULL;
	case T_DURATION:
		if (cfg_parse_duration(v, &d) < 0 || d > k->max) {
			snprintf(msg, msglen, "'%s' is not %s", v, type_word(k->type));
			return msg;
		}
		*(double *)dst = d;
		return NULL;
	case T_ENUM: {
		size_t off = 0;
		for (size_t i = 0; k->choices[i] != NULL; i++)
			if (strcmp(v, k->choices[i]) == 0) {
				free(*(char **)dst);
				*(char **)dst = xstrdup(v);
				return NULL;
			}
		off += (size_t)snprintf(msg, msglen, "'%s' is not one of:", v);
		for (size_t i = 0; k->choices[i] != NULL && off < msglen; i++)
			off += (size_t)snprintf(msg + off, msglen - off, " %s", k->choices[i]);
		return msg;
	}
	case T_STRING:
		if (v[0] == '\0') {
			snprintf(msg, msglen, "empty value");
			return msg;
		}
		free(*(char **)dst);
		*(char **)dst = (k->flags & F_PATH) ? resolve_path(cfg, v) : xstrdup(v);
		return NULL;
	case T_BOOL: {
		static const char *const yes[] = { "yes", "true", "on", "1", NULL };
		static const char *const no[] = { "no", "false", "off", "0", NULL };
		for (size_t i = 0; yes[i] != NULL; i++) {
			if (strcasecmp(v, yes[i]) == 0)
				return *(bool *)dst = true, NULL;
			if (strcasecmp(v, no[i]) == 0)
				return *(bool *)dst = false, NULL;
		}
		snprintf(msg, msglen, "'%s' is not %s", v, type_word(k->type));
		return msg;
	}
	case T_LIST: {
		struct strlist *sl = dst;
		if (v[0] == '\0') {
			snprintf(msg, msglen, "empty value");
			return msg;
		}
		strlist_add(sl, v);
		return NULL;
	}
	}
	return "internal error: unknown key type";
}

static int
on_ini_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct cfg *cfg = p->cfg;
	char msg[512];

	if (!known_section(section)) {
		if (p->bad_section_line != p->section_line) {
			p->bad_section_line = p->section_line;
			if (section[0] == '\0')
				perr(p, p->line, "%s: a key before any [section]", name);
			else
				perr(p, p->section_line, "[%s]: unknown section (sections are"
				    " pool, database, jobs, sql, rename, command, output)", section);
		}
		return 0;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];
		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (k->type != T_LIST && cfg->lines[i] != 0) {
			/*
			 * inih reports a multi-line value as the same key again
			 * on its continuation line; a key given twice is more
			 * likely a mistake than an override, so say so.
			 */
			perr(p, p->line, "[%s] %s: set twice (first on line %d)", section, name, cfg->lines[i]);
			return 0;
		}
		if ((k->flags & F_CODE) && p->cut_comment) {
			perr(p, p->line, "[%s] %s: a ';' after a space or tab starts a comment in an INI file,"
			    " so the value would end before it: write ';' right after the code before it"
			    " (echo one; echo two), and put comments on lines of their own", section, name);
			return 0;
		}
		const char *bad = set_value(cfg, k, value, msg, sizeof(msg));
		if (bad != NULL) {
			perr(p, p->line, "[%s] %s: %s", section, name, bad);
			return 0;
		}
		cfg->lines[i] = p->line;
		return 1;
	}
	unknown_key(section, name, msg, sizeof(msg), true);
	perr(p, p->line, "%s", msg);
	return 0;
}

static void
note_section(struct parse *p, const char *name)
{
	size_t n = strcspn(name, "]");

	for (size_t i = 0; i < MPW_ARRAY_LEN(p->sections); i++) {
		if (p->sections[i].line == 0) {
			if (n >= sizeof(p->sections[i].name))
				return;
			memcpy(p->sections[i].name, name, n);
			p->sections[i].line = p->line;
			return;
		}
		if (strlen(p->sections[i].name) == n && strncmp(p->sections[i].name, name, n) == 0)
			return;
	}
}

/* The line of a section's header, to blame for what the section lacks; 0 (the file) if it has none. */
static int
section_line(const struct parse *p, const char *name)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(p->sections); i++)
		if (strcmp(p->sections[i].name, name) == 0)
			return p->sections[i].line;
	return 0;
}

/*
 * inih reads through this fgets-like reader so that the handler knows the
 * line it is on, and where the current [section] header was.
 */
static char *
read_ini_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s = fgets(str, num, p->f);

	if (s == NULL)
		return NULL;
	if (p->at_line_start) {
		const char *c = s;
		p->line++;
		p->seen_sep = p->cut_comment = false;
		p->prev = '\n';
		while (*c == ' ' || *c == '\t')
			c++;
		if (*c == '[') {
			p->section_line = p->line;
			note_section(p, c + 1);
		}
	}
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (!p->seen_sep && (s[i] == '=' || s[i] == ':'))
			p->seen_sep = true;
		else if (p->seen_sep && s[i] == ';' && isspace((unsigned char)p->prev))
			p->cut_comment = true;
		p->prev = s[i];
	}
	p->at_line_start = n > 0 && s[n - 1] == '\n';
	return s;
}

static void
apply_defaults(struct cfg *cfg, struct parse *p)
{
	char msg[256];

	for (size_t i = 0; i < NKEYS; i++) {
		if (cfg->lines[i] != 0 || keys[i].def == NULL)
			continue;
		const char *bad = set_value(cfg, &keys[i], keys[i].def, msg, sizeof(msg));
		if (bad != NULL)
			perr(p, 0, "internal error: default of %s: %s", keys[i].name, bad);
	}
	if (cfg_line(cfg, "pool", "workers") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = n > 0 ? n : 1;
	}
}

static int
key_index(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
cfg_line(const struct cfg *cfg, const char *section, const char *name)
{
	int i = key_index(section, name);

	return i < 0 ? 0 : cfg->lines[i];
}

/*
 * [pool] halt, as GNU parallel's --halt: never, or WHEN,WHAT=N or
 * WHEN,WHAT=N% with WHEN soon or now and WHAT fail, success or done.
 * Its old numeric forms 1 and 2 are soon,fail=1 and now,fail=1.  0, or
 * -1 with why in msg.
 */
static int
parse_halt(struct cfg *cfg, char *msg, size_t msglen)
{
	const char *s = cfg->halt, *eq;
	char *end;

	cfg->halt_when = HALT_NEVER;
	if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "1") == 0 || strcmp(s, "2") == 0) {
		cfg->halt_when = s[0] == '1' ? HALT_SOON : HALT_NOW;
		cfg->halt_on = HALT_FAIL;
		cfg->halt_n = 1;
		return 0;
	}
	if (strncmp(s, "soon,", 5) == 0)
		cfg->halt_when = HALT_SOON;
	else if (strncmp(s, "now,", 4) == 0)
		cfg->halt_when = HALT_NOW;
	else
		goto bad;
	s = strchr(s, ',') + 1;
	if ((eq = strchr(s, '=')) == NULL)
		goto bad;
	if (strncmp(s, "fail=", 5) == 0)
		cfg->halt_on = HALT_FAIL;
	else if (strncmp(s, "success=", 8) == 0)
		cfg->halt_on = HALT_SUCCESS;
	else if (strncmp(s, "done=", 5) == 0)
		cfg->halt_on = HALT_DONE;
	else
		goto bad;
	errno = 0;
	cfg->halt_n = strtod(eq + 1, &end);
	cfg->halt_pct = *end == '%';
	if (end == eq + 1 || errno != 0 || (cfg->halt_pct ? end[1] != '\0' : *end != '\0') ||
	    !(cfg->halt_n > 0) || (cfg->halt_pct ? cfg->halt_n > 100 : cfg->halt_n != (double)(long)cfg->halt_n))
		goto bad;
	return 0;
bad:
	cfg->halt_when = HALT_NEVER;
	snprintf(msg, msglen, "[pool] halt: '%s' is not never, or soon|now,fail|success|done=N or =N%%"
	    " (as GNU parallel's --halt: soon,fail=1 or now,fail=10%%)", cfg->halt);
	return -1;
}

/* Checks that involve more than one key, or what this build can do. */
static void
validate(struct cfg *cfg, struct parse *p)
{
	const struct job_kind *kind = job_kind_find(cfg->type);
	int type_line = cfg_line(cfg, "jobs", "type");

	char hmsg[256];
	if (parse_halt(cfg, hmsg, sizeof(hmsg)) < 0)
		perr(p, cfg_line(cfg, "pool", "halt"), "%s", hmsg);
	if (!db_driver_built(cfg->driver))
		perr(p, cfg_line(cfg, "database", "driver"),
		    "[database] driver: '%s' is not built into this mpworker (built: %s)",
		    cfg->driver, db_driver_names());
	if (kind == NULL) {
		perr(p, type_line, "[jobs] type: '%s' jobs are not built into this mpworker (built: %s)",
		    cfg->type, job_kind_names());
		return;
	}
	if (kind->needs_db && strcmp(cfg->driver, "none") == 0)
		perr(p, type_line, "[jobs] type: %s jobs need a [database] driver", cfg->type);
	if (cfg->init.n > 0 && strcmp(cfg->driver, "none") == 0)
		perr(p, cfg_line(cfg, "database", "init"),
		    "[database] init: init statements need a [database] driver");
	if (cfg->file == NULL && cfg->job.n == 0 && !queue_on(cfg) &&
	    (strcmp(cfg->type, "rename") != 0 || cfg->directory == NULL))
		perr(p, type_line ? type_line : section_line(p, "jobs"),
		    "[jobs]: no jobs: give file = or job =");
	if (strcmp(cfg->split, "statement") == 0 && (strcmp(cfg->type, "sql") != 0 || cfg->sql_statement != NULL))
		perr(p, cfg_line(cfg, "jobs", "split"), "[jobs] split: statement splits SQL scripts:"
		    " it needs type = sql, and no [sql] statement (whose jobs are lines of values)");
	if (cfg->password != NULL && cfg->password_file != NULL)
		perr(p, cfg_line(cfg, "database", "password_file"),
		    "[database] password_file: give password or password_file, not both");
	char qmsg[256];
	int qline = 0;
	if (queue_check(cfg, &qline, qmsg, sizeof(qmsg)) < 0)
		perr(p, qline ? qline : type_line, "%s", qmsg);
	if (groups_check(cfg, &qline, qmsg, sizeof(qmsg)) < 0)
		perr(p, qline ? qline : type_line, "%s", qmsg);
	if (cfg->status_listen != NULL && http_check(cfg->status_listen, qmsg, sizeof(qmsg)) < 0)
		perr(p, cfg_line(cfg, "status", "listen"), "[status] listen: %s", qmsg);
	if (kind->check != NULL) {
		char msg[512];
		int line = 0;
		if (kind->check(cfg, &line, msg, sizeof(msg)) < 0)
			perr(p, line ? line : type_line, "%s", msg);
	}
}

/* A password in a file that others can read is worth a warning, not a refusal. */
static void
warn_readable_secret(const struct cfg *cfg, FILE *f)
{
	struct stat st;

	if (cfg->password == NULL && cfg->conninfo == NULL)
		return;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
		log_warnx("%s holds a database password and is readable by others;"
		    " use password_file, or chmod 600", cfg->path);
}

/*
 * What inih cannot see: a NUL byte (it reads lines as C strings, so the
 * rest of the line would be dropped) and a line longer than its buffer
 * (whose tail it would parse as a line of its own).  Each is an error at
 * its line; the file is rewound for the parser.
 */
static void
prescan(struct parse *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	while ((n = getline(&line, &cap, p->f)) > 0) {
		lineno++;
		if (memchr(line, '\0', (size_t)n) != NULL)
			perr(p, lineno, "the line holds a NUL byte");
		else if ((size_t)n - (line[n - 1] == '\n') > INI_LINE_MAX)
			perr(p, lineno, "the line is longer than %u bytes", INI_LINE_MAX);
	}
	free(line);
	rewind(p->f);
}

void
strlist_free(struct strlist *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
	*sl = (struct strlist){ 0 };
}

void
strlist_take(struct strlist *sl, char *v)
{
	sl->v = xrealloc(sl->v, (sl->n + 1) * sizeof(*sl->v));
	sl->v[sl->n++] = v;
}

void
strlist_add(struct strlist *sl, const char *v)
{
	strlist_take(sl, xstrdup(v));
}


/* The whole of a file that cannot be read twice (a pipe), as a stream to read from. */
static FILE *
slurp(const char *path, char **text)
{
	FILE *in = fopen(path, "re");
	size_t len = 0, cap = 0;

	if (in == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			*text = xrealloc(*text, cap);
		}
		size_t n = fread(*text + len, 1, cap - len, in);
		len += n;
		if (n == 0 || len > 64u << 20)
			break;
	}
	int e = ferror(in) ? errno : len > 64u << 20 ? EFBIG : 0;
	fclose(in);
	if (e != 0) {
		errno = e;
		return NULL;
	}
	if (len == 0)
		(*text)[len++] = '\n';	/* fmemopen wants a size; an empty line is nothing */
	return fmemopen(*text, len, "r");
}

/* One -o section.key=value, over the file's setting (or added to a list). */
static void
apply_override(struct parse *p, const char *o)
{
	const char *eq = strchr(o, '='), *dot = strchr(o, '.');
	char section[32], name[64], msg[512];

	if (eq == NULL || dot == NULL || dot > eq || (size_t)(dot - o) >= sizeof(section) ||
	    (size_t)(eq - dot - 1) >= sizeof(name)) {
		p->errors++;
		buf_printf(&p->err, "-o %s: give section.key=value, such as -o pool.workers=8\n", o);
		return;
	}
	snprintf(section, sizeof(section), "%.*s", (int)(dot - o), o);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - dot - 1), dot + 1);
	if (cfg_set(p->cfg, section, name, eq + 1, msg, sizeof(msg)) < 0) {
		p->errors++;
		if (key_index(section, name) < 0)
			buf_printf(&p->err, "-o %s: %s\n", o, msg);
		else
			buf_printf(&p->err, "-o %s: [%s] %s: %s\n", o, section, name, msg);
	}
}

struct cfg *
cfg_load(const char *path, const struct strlist *overrides, char *err, size_t errlen)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));
	struct parse p = { .cfg = cfg, .at_line_start = 1, .bad_section_line = -1 };
	struct stat st;
	int rc = 0;

	cfg->path = xstrdup(path != NULL ? path : "the command line");
	cfg->lines = xcalloc(NKEYS, sizeof(*cfg->lines));
	/*
	 * Relative paths in the file start at its directory; but a file that
	 * is a pipe (-c <(...)) has no directory of its own: they start at the
	 * current directory, as on the command line.
	 */
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;
	if (path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		cfg->dir = slash == NULL ? xstrdup(".") :
		    slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	char *text = NULL;
	if (path == NULL) {
		p.f = fopen("/dev/null", "re");
	} else if (cfg->dir == NULL) {
		/* A pipe is read once, whole, since the file is read twice (prescan). */
		p.f = slurp(path, &text);
	} else {
		p.f = fopen(path, "re");
	}
	if (p.f == NULL) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		cfg_free(cfg);
		return NULL;
	}
#if HAVE_DECL_INI_MAX_LINE && HAVE_DECL_INI_ALLOW_REALLOC
	/* SQL statements make long lines: let inih's line buffer grow. */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = INI_LINE_MAX + 2;
#endif
	prescan(&p);
	rc = p.errors > 0 ? 0 : ini_parse_stream(read_ini_line, &p, on_ini_key, &p);
	if (rc > 0 && p.errors == 0)
		perr(&p, rc, "syntax error: expected [section], key = value, or a comment");
	else if (rc < 0 && p.errors == 0)
		perr(&p, p.line, "cannot parse: %s", rc == -2 ? "out of memory" : "read error");
	for (size_t i = 0; overrides != NULL && i < overrides->n; i++)
		apply_override(&p, overrides->v[i]);
	if (p.errors == 0) {
		apply_defaults(cfg, &p);
		validate(cfg, &p);
	}
	if (p.errors == 0 && path != NULL)
		warn_readable_secret(cfg, p.f);
	fclose(p.f);
	free(text);
	if (p.errors > 0) {
		if (p.errors > 20)
			buf_printf(&p.err, "%s: %d more errors\n", cfg->path, p.errors - 20);
		snprintf(err, errlen, "%s", p.err.data);
		buf_free(&p.err);
		cfg_free(cfg);
		return NULL;
	}
	buf_free(&p.err);
	return cfg;
}

int
cfg_set(struct cfg *cfg, const char *section, const char *name, const char *value,
    char *err, size_t errlen)
{
	int i = key_index(section, name);
	char msg[256];
	char *dir = cfg->dir;

	if (i < 0) {
		unknown_key(section, name, err, errlen, false);
		return -1;
	}
	/* A path on the command line is relative to the current directory. */
	cfg->dir = NULL;
	const char *bad = set_value(cfg, &keys[i], value, msg, sizeof(msg));
	cfg->dir = dir;
	if (bad != NULL) {
		snprintf(err, errlen, "%s", bad);
		return -1;
	}
	cfg->lines[i] = -1;
	return 0;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		void *dst = (char *)cfg + keys[i].off;
		if (keys[i].type == T_STRING || keys[i].type == T_ENUM) {
			free(*(char **)dst);
		} else if (keys[i].type == T_LIST) {
			strlist_free(dst);
		}
	}
	free(cfg->lines);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

static void
print_duration(FILE *out, double d)
{
	if (d == 0)
		fputs("0", out);
	else if (d < 1)
		fprintf(out, "%gms", d * 1000);
	else
		fprintf(out, "%gs", d);
}

void
cfg_print(const struct cfg *cfg, FILE *out)
{
	const char *section = "";

	fprintf(out, "; effective settings of %s\n", cfg->path);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];
		const void *src = (const char *)cfg + k->off;
		const char *origin = cfg->lines[i] == 0 ? "default" : NULL;

		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		if (k->type == T_LIST) {
			const struct strlist *sl = src;
			if (sl->n == 0)
				fprintf(out, ";%s =\n", k->name);
			for (size_t j = 0; j < sl->n; j++)
				fprintf(out, "%s = %s\n", k->name, sl->v[j]);
			continue;
		}
		if ((k->type == T_STRING || k->type == T_ENUM) && *(char *const *)src == NULL) {
			fprintf(out, ";%s =\n", k->name);
			continue;
		}
		fprintf(out, "%s = ", k->name);
		if (k->flags & F_SECRET)
			fputs("(hidden)", out);
		else if (k->type == T_INT)
			fprintf(out, "%ld", *(const long *)src);
		else if (k->type == T_DURATION)
			print_duration(out, *(const double *)src);
		else if (k->type == T_BOOL)
			fputs(*(const bool *)src ? "yes" : "no", out);
		else
			fputs(*(char *const *)src, out);
		if (cfg->lines[i] < 0)
			origin = "command line";
		else if (cfg->lines[i] == 0 && k->def == NULL)
			origin = "default: online CPUs";
		if (origin != NULL)
			fprintf(out, "\t; %s", origin);
		fputc('\n', out);
	}
}
