# Rename jobs on sqlite.
DRIVER=sqlite
. "$SRCDIR/tests/rename_common.sh"
