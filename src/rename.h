/*
 * Renaming safely, shared by rename jobs and --undo.
 */
#ifndef MPW_RENAME_H
#define MPW_RENAME_H

/*
 * Why name is not a plain file name (empty, . or .., a '/', a control
 * character), or NULL when it is one.
 */
const char *rename_unsafe(const char *name);

/* Append path made absolute (against the working directory, leading ./ dropped) to out. */
struct buf;
void rename_abspath(struct buf *out, const char *path);

/*
 * Rename from to to, both names in the directory dirfd, never replacing
 * an existing to: renameat2 with RENAME_NOREPLACE, or link and unlink
 * where that is not supported.  0, or -1 with errno (EEXIST when to
 * exists).
 */
int rename_noreplace_at(int dirfd, const char *from, const char *to);

/*
 * Open (O_PATH) the directory given by the first len bytes of path ("."
 * when len is 0).  Where that directory is root or below it, root is
 * opened as written and no component below it may be a symbolic link
 * (ELOOP or ENOTDIR); otherwise the path is opened as written.  The
 * descriptor, or -1 with errno.
 */
int rename_open_dir(const char *path, size_t len, const char *root);

/*
 * Read back a rename as the joblog records it ("mv -n -- OLD NEW"): 0
 * with *from and *to malloc'd, -1 for anything else.
 */
int rename_parse_logged(const char *cmd, char **from, char **to);

/*
 * --undo: rename back every rename a joblog records, newest first, never
 * replacing a file.  Returns an exit code: 0 all undone, 1 some could not
 * be, 2 the joblog could not be read.
 */
int rename_undo(const char *joblog);

#endif
