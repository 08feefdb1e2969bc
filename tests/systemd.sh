# The units under a real systemd (tests/sdns.sh: PID 1 in namespaces of
# its own), as an operator uses them: make install, start, jobs through
# a FIFO, --status, reload (good and failing), stop and its exit status,
# a configuration error not restarted, both units side by side, and the
# journal's priorities.
. "$SRCDIR/tests/lib.sh"

: "${BUILDDIR:?run the tests through make check}"
sdns="$SRCDIR/tests/sdns.sh"
why=$("$sdns" check) || skip "cannot boot systemd here: $why"

# A make of our own, not a part of make check's: its MAKEFLAGS would have
# it print directory lines into what we read, and ask for its jobserver.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$BUILDDIR" "$@"; }
mk install DESTDIR="$T/root" >make.out 2>&1 || { cat make.out; fail "make install"; finish; }
bindir=$(mk -f Makefile -f - print <<'MK'
print:
	@echo $(bindir) $(sysconfdir) $(systemdsystemunitdir)
MK
)
set -- $bindir
bindir=$1 etc=$2 unitdir=$3

"$sdns" start "$T/sd" || { fail "systemd did not boot"; finish; }
trap '"$sdns" stop "$T/sd"; cleanup' EXIT
in_sd() { "$sdns" exec "$T/sd" "$@"; }
# /lib is a link to usr/lib: tar must not put a directory in its place.
tar -C "$T/root" -c . | in_sd tar -x --no-same-owner --keep-directory-symlink -C /
check "the installed units are there" in_sd test -s "$unitdir/mpworker.service"

# The jobs come through a FIFO in the state directory, made before start.
cat > mpworker.ini <<INI
[pool]
workers = 2
joblog = /var/lib/mpworker/jobs.joblog
[jobs]
file = /var/lib/mpworker/jobs.fifo
INI
in_sd mkdir -p "$etc" /etc/systemd/system/mpworker.service.d /etc/systemd/system/mpworker@.service.d
in_sd sh -c "cat > $etc/mpworker.ini" < mpworker.ini
dropin='[Service]
ExecStartPre=/bin/sh -c "test -p jobs.fifo || mkfifo -m 0600 jobs.fifo"'
# The sanitizers' leak check stops the world with ptrace, which the sandbox forbids.
ldd "$BUILDDIR/mpworker" | grep -q libasan && dropin="$dropin
Environment=ASAN_OPTIONS=detect_leaks=0"
echo "$dropin" | in_sd sh -c 'cat > /etc/systemd/system/mpworker.service.d/fifo.conf'
echo "$dropin" | in_sd sh -c 'cat > /etc/systemd/system/mpworker@.service.d/fifo.conf'
in_sd systemctl daemon-reload

in_sd systemctl start mpworker
expect_eq "systemctl start: the service is active once its workers are ready" "$(in_sd systemctl is-active mpworker)" active
status_says() { in_sd systemctl show -p StatusText mpworker | grep -q "$1"; }
check "its status line counts them" wait_for 5 status_says " 2 idle workers"

feed_sd() { in_sd timeout 10 sh -c 'printf "%s\n" "$1" > /var/lib/mpworker/jobs.fifo' sh "$1"; }
feed_sd "touch /var/lib/mpworker/ran1"
check "a job fed to the FIFO runs, as the service's own user" \
	wait_for 10 in_sd test -e /var/lib/private/mpworker/ran1
feed_sd "touch /etc/escaped"
check "the sandbox keeps it out of the rest of the system" wait_for 10 in_sd grep -q 'touch /etc/escaped' /var/lib/private/mpworker/jobs.joblog
check "nothing was written there" in_sd test ! -e /etc/escaped
in_sd "$bindir/mpworker" --status -c "$etc/mpworker.ini" >st.txt 2>st.err
expect_grep "mpworker --status finds the service of the INI, which names no socket" "service, .*command jobs, 2 workers" st.txt
in_sd cp "$etc/mpworker.ini" /tmp/other.ini
in_sd "$bindir/mpworker" --status -c /tmp/other.ini >st.txt 2>st.err
expect_eq "an INI no service runs: exit 2" "$?" 2
expect_grep "saying so" "no running mpworker service runs /tmp/other.ini" st.err
in_sd setpriv --reuid=65534 --regid=65534 --clear-groups "$bindir/mpworker" --status -c "$etc/mpworker.ini" >st.txt 2>st.err
expect_grep "a user who may not reach the socket is told to be root" "run this as root" st.err
in_sd sed -i 's/^workers = 2/workers = two/' "$etc/mpworker.ini"
in_sd "$bindir/mpworker" --status -c "$etc/mpworker.ini" >st.txt 2>st.err
expect_grep "an INI being edited that does not parse still leads to its service" "service, .*command jobs, 2 workers" st.txt
expect_grep "saying the INI does not parse" "mpworker.ini:[0-9]+: \[pool\] workers" st.err
check "a reload of it fails" sh -c "! \"$sdns\" exec \"$T/sd\" systemctl reload mpworker"
in_sd sed -i 's/^workers = two/workers = 2/' "$etc/mpworker.ini"
expect_grep "the journal has job failures at warning priority" "job 2 failed" \
	<(in_sd journalctl -u mpworker -p warning --no-pager)

# Reload: more workers; then an init hook that fails, which systemctl
# reload reports while the old workers go on.
in_sd sed -i 's/^workers = 2/workers = 3/' "$etc/mpworker.ini"
check "systemctl reload succeeds" in_sd systemctl reload mpworker
check "three workers after it" wait_for 5 status_says " 3 idle workers"
in_sd sh -c "printf '[database]\ndriver = sqlite\npath = /nonexistent/x.db\n' >> $etc/mpworker.ini"
check "a reload whose workers cannot start fails systemctl reload" sh -c "! \"$sdns\" exec \"$T/sd\" systemctl reload mpworker"
expect_eq "the service stays active" "$(in_sd systemctl is-active mpworker)" active
feed_sd "touch /var/lib/mpworker/ran2"
check "and runs jobs on the old workers" wait_for 10 in_sd test -e /var/lib/private/mpworker/ran2
expect_grep "the reason is in the journal at error priority" "reload failed: new worker [0-9] cannot connect to sqlite" \
	<(in_sd journalctl -u mpworker -p err --no-pager)

# An ordinary stop is a success, though a job failed.
in_sd systemctl stop mpworker
expect_eq "systemctl stop: inactive, not failed" "$(in_sd systemctl is-active mpworker)" inactive
expect_eq "with exit status 0" "$(in_sd systemctl show -p ExecMainStatus --value mpworker)" 0
expect_eq "the joblog kept every job" "$(in_sd cat /var/lib/private/mpworker/jobs.joblog | tail -n +2 | wc -l)" 3

# A configuration error is not restarted every 5 s forever.
in_sd sed -i 's/^workers = 3/workers = lots/' "$etc/mpworker.ini"
in_sd systemctl start mpworker 2>/dev/null
sleep 6
expect_eq "a broken INI leaves the unit failed" "$(in_sd systemctl is-active mpworker)" failed
expect_eq "and it was not restarted" "$(in_sd systemctl show -p NRestarts --value mpworker)" 0

# Both units side by side, each with its own state.
in_sd sed -i 's/^workers = lots/workers = 1/; /^\[database\]/,$d' "$etc/mpworker.ini"
in_sd systemctl reset-failed mpworker
in_sd mkdir -p "$etc/mpworker"
sed 's|/mpworker/|/mpworker-a/|g; s/^workers = 2/workers = 4/' mpworker.ini | in_sd sh -c "cat > $etc/mpworker/a.ini"
in_sd systemctl start mpworker mpworker@a
expect_eq "mpworker and mpworker@a both run" \
	"$(in_sd systemctl is-active mpworker mpworker@a | tr '\n' ' ')" "active active "
in_sd timeout 10 sh -c 'echo "touch /var/lib/mpworker-a/ran" > /var/lib/mpworker-a/jobs.fifo'
in_sd "$bindir/mpworker" --status -c "$etc/mpworker/a.ini" >st.txt 2>st.err
expect_grep "--status finds each service's own socket" "service, .*command jobs, 4 workers" st.txt
in_sd "$bindir/mpworker" --status -c "$etc/mpworker.ini" >st.txt 2>st.err
expect_grep "and the other's" "service, .*command jobs, 1 worker" st.txt
check "the instance runs its own jobs in its own state directory" wait_for 10 in_sd test -e /var/lib/private/mpworker-a/ran
expect_eq "as a user of its own" \
	"$(in_sd stat -c %U /var/lib/private/mpworker-a/ran) $(in_sd stat -c %U /var/lib/private/mpworker/ran1)" \
	"mpworker-a mpworker"
in_sd systemctl stop mpworker mpworker@a
expect_eq "both stop cleanly" \
	"$(in_sd systemctl show -p Result --value mpworker) $(in_sd systemctl show -p Result --value mpworker@a)" "success success"
finish
