/*
 * The driver table and the init hook.  Drivers are compiled in only when
 * configure found their client library; "none" is always there, for
 * command jobs that need no database.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

static const struct db_driver db_none = {
	.name = "none",
};

static const struct db_driver *const drivers[] = {
#ifdef HAVE_POSTGRESQL
	&db_pgsql,
#endif
#ifdef HAVE_MYSQL
	&db_mysql,
#endif
#ifdef HAVE_SQLITE
	&db_sqlite,
#endif
	&db_none,
};

const struct db_driver *
db_driver_find(const char *name)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(drivers); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const char *
db_driver_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		size_t off = 0;
		for (size_t i = 0; i < MPW_ARRAY_LEN(drivers) && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    i ? " " : "", drivers[i]->name);
	}
	return names;
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
db_open(const struct cfg *cfg, struct db_conn **conn, char *err, size_t errlen)
{
	const struct db_driver *drv = db_driver_find(cfg->driver);
	struct db_err e = { 0 };
	char *password = NULL;

	*conn = NULL;
	if (drv == NULL || drv->connect == NULL)
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
db_close(const struct cfg *cfg, struct db_conn *conn)
{
	const struct db_driver *drv = db_driver_find(cfg->driver);

	if (drv != NULL && drv->close != NULL && conn != NULL)
		drv->close(conn);
}
