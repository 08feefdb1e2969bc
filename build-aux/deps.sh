#!/bin/sh
# Install what mpworker needs from Debian's packages: to build it, and
# with "test", to run the whole test suite too (it starts its own
# PostgreSQL and MariaDB servers; Debian's own instances are not used).
#   build-aux/deps.sh          # build dependencies
#   build-aux/deps.sh test     # ... and the test tools
#   build-aux/deps.sh bench    # ... and what bench/ compares against
set -eu

pkgs="build-essential autoconf automake pkg-config libinih-dev libsqlite3-dev libpq-dev libmariadb-dev libmicrohttpd-dev"
if [ "${1:-}" = bench ]; then
	pkgs="$pkgs postgresql postgresql-client mariadb-server mariadb-client gawk python3 python3-psycopg2 python3-mysqldb parallel gnuplot-nox time"
fi
if [ "${1:-}" = test ]; then
	pkgs="$pkgs libcmocka-dev clang libclang-rt-14-dev gdb python3 procps util-linux bsdutils man-db sqlite3 postgresql postgresql-client mariadb-server mariadb-client iproute2 curl prometheus valgrind"
	# prometheus for promtool, which checks --metrics' output
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
