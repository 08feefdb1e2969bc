#!/bin/sh
# Install what mpworker needs from Debian's packages: to build it, and
# with "test", to run the whole test suite too.
#   build-aux/deps.sh          # build dependencies
#   build-aux/deps.sh test     # ... and the test tools
set -eu

pkgs="build-essential autoconf automake pkg-config libinih-dev"
if [ "${1:-}" = test ]; then
	pkgs="$pkgs libcmocka-dev python3 procps util-linux bsdutils man-db"
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
