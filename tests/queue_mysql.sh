# The queue on mysql (MariaDB).
DRIVER=mysql
. "$SRCDIR/tests/queue_common.sh"
