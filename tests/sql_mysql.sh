# SQL jobs on mysql.
DRIVER=mysql
. "$SRCDIR/tests/sql_common.sh"
