# The queue on postgresql.
DRIVER=postgresql
. "$SRCDIR/tests/queue_common.sh"
