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
 * Where the driver modules are: beside the program when it runs from its
 * build directory (the tests, the demo), else where make install put them.
 */
static const char *
module_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	if (dir[0] != '\0')
		return dir;
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
	snprintf(path, sizeof(path), "%s/%s.so", module_dir(), name);
	/* Bind everything now: a missing symbol is an init failure, not a crash mid-job. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
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
