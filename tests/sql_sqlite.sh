# SQL jobs on sqlite.
DRIVER=sqlite
. "$SRCDIR/tests/sql_common.sh"
