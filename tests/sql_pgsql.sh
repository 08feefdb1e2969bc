# SQL jobs on postgresql.
DRIVER=postgresql
. "$SRCDIR/tests/sql_common.sh"
