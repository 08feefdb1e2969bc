# Rename jobs on postgresql.
DRIVER=postgresql
. "$SRCDIR/tests/rename_common.sh"
