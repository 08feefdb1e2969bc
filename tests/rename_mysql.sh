# Rename jobs on mysql.
DRIVER=mysql
. "$SRCDIR/tests/rename_common.sh"
