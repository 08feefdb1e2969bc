/*
 * The driver table and the init hook.  Drivers are compiled in only when
 * configure found their client library; "none" is always there, for
 * command jobs that need no database.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

/*
 * The drivers this build has.  Each is a module (DRIVER.so) loaded only by
 * a worker, after fork: the parent never maps libpq, the MariaDB client or
 * SQLite with what they pull in (OpenSSL, Kerberos, LDAP, ...), which keeps
 * the supervisor small and a command worker's fork() cheap.
 */
static const char *const built[] = {
#ifdef HAVE_POSTGRESQL
	"postgresql",
#endif
#ifdef HAVE_MYSQL
	"mysql",
#endif
#ifdef HAVE_SQLITE
	"sqlite",
#endif
	"none",
};

static const struct db_driver db_none = {
	.name = "none",
};

bool
db_driver_built(const char *name)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(built); i++)
		if (strcmp(built[i], name) == 0)
			return true;
	return false;
}

const char *
db_driver_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		size_t off = 0;
		for (size_t i = 0; i < MPW_ARRAY_LEN(built) && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    i ? " " : "", built[i]);
	}
	return names;
}

/*
 * Where the driver modules are: MPWORKER_DRIVER_DIR when set; beside the
 * program when it runs from its build directory (the tests, the demo);
 * else where make install put them.
 */
static const char *
module_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MPWORKER_DRIVER_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (dir[0] != '\0')
		return dir;
	if (env != NULL && env[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	snprintf(dir, sizeof(dir), "%s", MPW_MODULEDIR);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (strcmp(exe, MPW_BUILDDIR) == 0)
				snprintf(dir, sizeof(dir), "%s/drivers", MPW_BUILDDIR);
		}
	}
	return dir;
}

/* Where driver name's module is looked for. */
static void
module_path(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.so", module_dir(), name);
}

bool
db_driver_installed(const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];

	if (strcmp(name, "none") == 0 || !db_driver_built(name))
		return true;
	module_path(name, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return true;
	/* Packages ship each driver apart: say which one is missing. */
	snprintf(err, errlen, "driver %s is not installed: no %s "
	    "(in Debian's packages, it is mpworker-%s)", name, path, name);
	return false;
}

const struct db_driver *
db_driver_load(const char *name, char *err, size_t errlen)
{
	static const struct db_driver *loaded;
	char path[PATH_MAX + 64];
	void *h;

	if (loaded != NULL && strcmp(loaded->name, name) == 0)
		return loaded;
	if (strcmp(name, "none") == 0)
		return loaded = &db_none;
	if (!db_driver_built(name)) {
		snprintf(err, errlen, "driver '%s' is not built into this mpworker", name);
		return NULL;
	}
	module_path(name, path, sizeof(path));
	/* Bind everything now: a missing symbol is an init failure, not a crash mid-job. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL && !db_driver_installed(name, err, errlen))
		return NULL;
	if (h == NULL) {
		snprintf(err, errlen, "cannot load driver %s: %s", name, dlerror());
		return NULL;
	}
	loaded = dlsym(h, "mpw_driver");
	if (loaded == NULL) {
		snprintf(err, errlen, "cannot load driver %s: %s has no mpw_driver", name, path);
		dlclose(h);
	}
	return loaded;
}

void
db_put_value(struct buf *out, const char *v, size_t len)
{
	size_t start = 0;

	buf_reserve(out, len + 1);
	for (size_t i = 0; i < len; i++) {
		const char *esc = NULL;
		switch (v[i]) {
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\\': esc = "\\\\"; break;
		default: continue;
		}
		buf_add(out, v + start, i - start);
		buf_add(out, esc, 2);
		start = i + 1;
	}
	buf_add(out, v + start, len - start);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * Decode one field of COPY text, as PostgreSQL's COPY FROM does: \b \f \n
 * \r \t \v, \ and one to three octal digits, \x and one or two hex digits,
 * and a backslash before any other byte stands for that byte.
 */
static int
decode_field(const char *s, size_t len, char *out, int *outlen, char *err, size_t errlen)
{
	int o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i];
		if (c == '\\') {
			if (++i == len) {
				snprintf(err, errlen, "the line ends in a lone backslash (write \\\\ for one)");
				return -1;
			}
			c = (unsigned char)s[i];
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'v': c = '\v'; break;
			case 'x':
				if (i + 1 < len && hexval(s[i + 1]) >= 0) {
					c = (unsigned)hexval(s[++i]);
					if (i + 1 < len && hexval(s[i + 1]) >= 0)
						c = c * 16 + (unsigned)hexval(s[++i]);
				}
				break;
			default:
				if (c >= '0' && c <= '7') {
					c -= '0';
					for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
						c = c * 8 + (unsigned)(s[++i] - '0');
					c &= 0xff;
				}
				break;
			}
		}
		if (c == 0) {
			snprintf(err, errlen, "a value holds a NUL byte, which SQL text cannot carry");
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

int
db_params_parse(struct db_params *p, const char *line, size_t len, char *err, size_t errlen)
{
	size_t nf = 1, start = 0, used = 0;
	int k = 0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\t' && ++nf > DB_PARAMS_MAX) {
			snprintf(err, errlen, "the line has more than %d fields", DB_PARAMS_MAX);
			return -1;
		}
	p->v = xcalloc(nf, sizeof(*p->v));
	p->len = xcalloc(nf, sizeof(*p->len));
	/* Decoding never lengthens a field, and each tab becomes its NUL. */
	p->data = xmalloc(len + 1);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (i - start == 2 && line[start] == '\\' && line[start + 1] == 'N') {
			p->v[k] = NULL;
		} else {
			char *out = p->data + used;
			if (decode_field(line + start, i - start, out, &p->len[k], err, errlen) < 0) {
				p->n = k;
				return -1;
			}
			p->v[k] = out;
			used += (size_t)p->len[k] + 1;
		}
		k++;
		start = i + 1;
	}
	p->n = k;
	return 0;
}

void
db_params_free(struct db_params *p)
{
	free(p->v);
	free(p->len);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

int
db_params_to_qmarks(const char *sql, struct buf *out, int **map, size_t **at, char *err, size_t errlen)
{
	char quote = 0;
	int n = 0, cap = 0;
	bool dollars = false, qmarks = false;
	size_t base = out->len;

	*map = NULL;
	if (at != NULL)
		*at = NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == '\\' && quote != '`' && p[1] != '\0')
				buf_add(out, p++, 1);
			else if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"' || *p == '`') {
			quote = *p;
		} else if (*p == '#' || (*p == '-' && p[1] == '-' && (p[2] == ' ' || p[2] == '\t'))) {
			size_t l = strcspn(p, "\n");
			buf_add(out, p, l);
			p += l - 1;
			continue;
		} else if (*p == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			size_t l = e != NULL ? (size_t)(e + 2 - p) : strlen(p);
			buf_add(out, p, l);
			p += l - 1;
			continue;
		} else if (*p == '?' || (*p == '$' && p[1] >= '0' && p[1] <= '9')) {
			long v = 0;
			if (*p == '$') {
				char *end;
				v = strtol(p + 1, &end, 10);
				if (v < 1 || v > DB_PARAMS_MAX) {
					snprintf(err, errlen, "$%ld: values are numbered $1 to $%d", v, DB_PARAMS_MAX);
					goto fail;
				}
				p = end - 1;
				dollars = true;
			} else {
				v = n + 1;
				qmarks = true;
			}
			if (dollars && qmarks) {
				snprintf(err, errlen, "the statement mixes $N and ? placeholders");
				goto fail;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*map = xrealloc(*map, (size_t)cap * sizeof(**map));
				if (at != NULL)
					*at = xrealloc(*at, (size_t)cap * sizeof(**at));
			}
			if (at != NULL)
				(*at)[n] = out->len - base;
			(*map)[n++] = (int)v - 1;
			buf_add(out, "?", 1);
			continue;
		}
		buf_add(out, p, 1);
	}
	return n;
fail:
	free(*map);
	*map = NULL;
	if (at != NULL) {
		free(*at);
		*at = NULL;
	}
	return -1;
}

void
db_batch_sql(struct buf *q, const char *begin, const struct db_stmt *st, size_t n)
{
	buf_addstr(q, begin);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(st[i].sql);
		while (len > 0 && (st[i].sql[len - 1] == ';' || st[i].sql[len - 1] == ' ' ||
		    st[i].sql[len - 1] == '\t'))
			len--;
		buf_add(q, ";\n", 2);
		buf_add(q, st[i].sql, len);
	}
	buf_addstr(q, ";\nCOMMIT");
}

/* The password from password_file: its first line.  NULL with err on failure. */
static char *
read_password(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		snprintf(err, errlen, "password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return xstrdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

int
db_open(const struct cfg *cfg, const struct db_driver **drvp, struct db_conn **conn,
    char *err, size_t errlen)
{
	const struct db_driver *drv = db_driver_load(cfg->driver, err, errlen);
	struct db_err e = { 0 };
	char *password = NULL;

	*conn = NULL;
	*drvp = drv;
	if (drv == NULL)
		return -1;
	if (drv->connect == NULL)
		return 0;
	if (cfg->password_file != NULL) {
		password = read_password(cfg->password_file, err, errlen);
		if (password == NULL)
			return -1;
	}
	*conn = drv->connect(cfg, password ? password : cfg->password, &e);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (*conn == NULL) {
		snprintf(err, errlen, "cannot connect to %s: %s", drv->name, e.msg);
		return -1;
	}
	for (size_t i = 0; i < cfg->init.n; i++) {
		if (drv->exec(*conn, cfg->init.v[i], NULL, &e) < 0) {
			snprintf(err, errlen, "init statement %zu (%s) failed: %s",
			    i + 1, cfg->init.v[i], e.msg);
			drv->close(*conn);
			*conn = NULL;
			return -1;
		}
	}
	return 0;
}

void
db_close(const struct db_driver *drv, struct db_conn *conn)
{
	if (conn != NULL && drv != NULL && drv->close != NULL)
		drv->close(conn);
}
