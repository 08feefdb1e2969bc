# The Debian packages (build-aux/deb) as a host installs them, under a
# real systemd (tests/sdns.sh) whose root is a throwaway overlay: the
# program and one driver package, a SQLite job through the packaged
# driver, a driver left out, the packaged service, and a purge that
# leaves nothing behind.  Not part of make check: it needs the .debs.
#   DEBS=DIR SRCDIR=TOP bash tests/deb.sh
: "${DEBS:?DEBS=the directory build-aux/deb wrote}"
MPWORKER=/usr/bin/mpworker	# the packaged one, inside the overlay
. "$SRCDIR/tests/lib.sh"

sdns="$SRCDIR/tests/sdns.sh"
why=$("$sdns" check) || skip "cannot boot systemd here: $why"
deb() { ls "$DEBS"/"$1"_[0-9]*.deb 2>/dev/null | head -n 1; }
for p in mpworker mpworker-sqlite mpworker-postgresql mpworker-mysql; do
	[ -n "$(deb $p)" ] || { fail "no $p package in $DEBS"; finish; }
done

# A host installs only the client library it uses.
dep() { dpkg-deb -f "$(deb "$1")" Depends; }
expect_no_grep "the program's package needs no database client library" \
	"libpq|libmariadb|libmysql|libsqlite" <(dep mpworker)
expect_grep "the PostgreSQL driver's needs libpq" "libpq5" <(dep mpworker-postgresql)
expect_grep "the MySQL driver's needs MariaDB's client library" "libmariadb3" <(dep mpworker-mysql)
expect_grep "the SQLite driver's needs libsqlite3" "libsqlite3" <(dep mpworker-sqlite)
expect_grep "each driver needs the program of the same version" "mpworker \(= " <(dep mpworker-sqlite)

"$sdns" start "$T/sd" || { fail "systemd did not boot"; finish; }
trap '"$sdns" stop "$T/sd"; cleanup' EXIT
in_sd() { "$sdns" exec "$T/sd" "$@"; }
tar -C "$DEBS" -c . | in_sd sh -c 'mkdir -p /tmp/debs && tar -x --no-same-owner -C /tmp/debs'

# Install the program and the SQLite driver only.
in_sd sh -c 'dpkg -i /tmp/debs/mpworker_[0-9]*.deb /tmp/debs/mpworker-sqlite_[0-9]*.deb' >dpkg.out 2>&1
expect_eq "dpkg installs the program and one driver" "$?" 0 || cat dpkg.out
expect_eq "mpworker is /usr/bin/mpworker" "$(in_sd sh -c 'command -v mpworker')" /usr/bin/mpworker
check "the units are in /lib/systemd/system" in_sd test -s /lib/systemd/system/mpworker.service
expect_grep "and run /usr/bin/mpworker on /etc/mpworker.ini" \
	"^ExecStart=/usr/bin/mpworker --service --config /etc/mpworker.ini$" <(in_sd systemctl cat mpworker)
expect_eq "the service is neither enabled nor started at install" \
	"$(in_sd systemctl is-enabled mpworker) $(in_sd systemctl is-active mpworker)" "disabled inactive"
check "the manual is installed" in_sd test -s /usr/share/man/man1/mpworker.1.gz

# A SQLite job through the packaged driver.
in_sd mkdir -p /root/job
in_sd sh -c 'cat > /root/job/job.ini' <<'INI'
[pool]
workers = 3
joblog = job.joblog
[database]
driver = sqlite
path = job.db
create = yes
init = CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)
init = PRAGMA busy_timeout = 5000
[jobs]
type = sql
file = job.sql
INI
seq 1 200 | sed 's/.*/INSERT INTO t VALUES (&);/' | in_sd sh -c 'cat > /root/job/job.sql'
in_sd sh -c 'cd /root/job && mpworker --no-progress --config job.ini' >run.out 2>&1
expect_eq "mpworker runs a SQLite job: exit 0" "$?" 0 || cat run.out
expect_eq "every row is in the table" \
	"$(in_sd sh -c 'cd /root/job && echo "SELECT count(*), sum(n) FROM t" | mpworker --no-progress --sql -o database.driver=sqlite -o database.path=job.db' 2>/dev/null)" \
	"200	20100"
expect_eq "the joblog has every job" "$(in_sd tail -n +2 /root/job/job.joblog | awk '$7 == 0' | wc -l)" 200

# A driver whose package is not installed: refused, naming the package.
in_sd sh -c 'cd /root/job && mpworker --no-progress -o database.driver=postgresql -o database.dbname=x --config job.ini' >pg.out 2>&1
expect_eq "a PostgreSQL INI without mpworker-postgresql: exit 2" "$?" 2
expect_grep "the error names the package to install" "driver postgresql is not installed.*mpworker-postgresql" pg.out
in_sd sh -c 'dpkg -i /tmp/debs/mpworker-postgresql_[0-9]*.deb' >/dev/null 2>&1
in_sd sh -c 'cd /root/job && mpworker -o database.driver=postgresql -o database.dbname=x --config job.ini --check-config' >/dev/null 2>&1
expect_eq "once it is installed, the same INI is accepted" "$?" 0

# The packaged service: jobs through a FIFO into a SQLite file in its
# state directory, --status through its default socket, a clean stop.
in_sd sh -c 'cat > /etc/mpworker.ini' <<'INI'
[pool]
workers = 2
joblog = /var/lib/mpworker/jobs.joblog
[database]
driver = sqlite
path = /var/lib/mpworker/jobs.db
create = yes
init = CREATE TABLE IF NOT EXISTS t (n INTEGER)
[jobs]
type = sql
file = /var/lib/mpworker/jobs.fifo
INI
in_sd mkdir -p /etc/systemd/system/mpworker.service.d
printf '[Service]\nExecStartPre=/bin/sh -c "test -p jobs.fifo || mkfifo -m 0600 jobs.fifo"\n' |
	in_sd sh -c 'cat > /etc/systemd/system/mpworker.service.d/fifo.conf'
in_sd systemctl daemon-reload
in_sd systemctl start mpworker
expect_eq "systemctl start mpworker: active" "$(in_sd systemctl is-active mpworker)" active
in_sd timeout 10 sh -c 'seq 1 5 | sed "s/.*/INSERT INTO t VALUES (&);/" > /var/lib/mpworker/jobs.fifo'
rows() { [ "$(in_sd sqlite3 /var/lib/private/mpworker/jobs.db 'SELECT count(*) FROM t' 2>/dev/null)" = 5 ]; }
check "the jobs fed to it are rows in its database" wait_for 10 rows
in_sd mpworker --status --config /etc/mpworker.ini >st.out 2>&1
expect_grep "mpworker --status finds the service's socket" "service, .*sql jobs, 2 workers" st.out
in_sd systemctl stop mpworker
expect_eq "systemctl stop: inactive, exit status 0" \
	"$(in_sd systemctl is-active mpworker) $(in_sd systemctl show -p ExecMainStatus --value mpworker)" "inactive 0"

# Purged, nothing of it is left.
in_sd rm -rf /etc/systemd/system/mpworker.service.d
in_sd dpkg --purge mpworker-postgresql mpworker-sqlite mpworker >purge.out 2>&1
expect_eq "dpkg --purge removes every package" "$?" 0 || cat purge.out
left=$(in_sd sh -c 'ls -d /usr/bin/mpworker /etc/mpworker.ini /lib/systemd/system/mpworker*.service \
	/usr/lib/*/mpworker /usr/share/doc/mpworker /usr/share/bash-completion/completions/mpworker 2>/dev/null')
expect_eq "no file of it is left" "$left" ""
finish
