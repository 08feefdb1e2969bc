# Shared helpers for the integration tests.  Each test is a shell script
# that runs the real mpworker binary ($MPWORKER) in a scratch directory
# and checks what a user would: exit codes, files, joblog lines, output.
set -u

: "${MPWORKER:?run the tests through make check}"
: "${SRCDIR:?run the tests through make check}"

T=$(mktemp -d "${TMPDIR:-/tmp}/mpw-test.XXXXXX")
cd "$T" || exit 99
failures=0
checks=0

cleanup() {
	# Nothing a test started may outlive it.
	sleeper=$(pgrep -P "$watchdog")
	kill -9 "$watchdog" $sleeper 2>/dev/null
	jobs -p | xargs -r kill -9 2>/dev/null
	if [ "$failures" -eq 0 ]; then rm -rf "$T"; else echo "(scratch kept in $T)"; fi
}
trap cleanup EXIT

# A test that hangs fails instead of holding up the whole suite.
( sleep 300; echo "FAIL: the test ran for 300s and was killed"; kill -9 $$ ) &
watchdog=$!

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

ok() {
	checks=$((checks + 1))
	echo "ok: $*"
}

# check DESCRIPTION COMMAND...: run a test command, record the outcome.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_grep DESCRIPTION PATTERN FILE
expect_grep() {
	if grep -qE -- "$2" "$3"; then ok "$1"; else fail "$1: no /$2/ in $3:"; sed 's/^/    /' "$3" | head -20; fi
}

expect_no_grep() {
	if grep -qE -- "$2" "$3"; then fail "$1: /$2/ found in $3:"; grep -E -- "$2" "$3" | head -5 | sed 's/^/    /'; else ok "$1"; fi
}

# run_mpw ARGS...: run mpworker, stdout to out, stderr to err, status in $rc.
run_mpw() {
	"$MPWORKER" --no-progress "$@" >out 2>err
	rc=$?
}

# joblog_field FILE SEQ COLUMN: the column (1-based) of every line of job SEQ.
joblog_field() {
	awk -F'\t' -v s="$2" -v c="$3" 'NR > 1 && $1 == s { print $c }' "$1"
}

# The jobs a joblog records as succeeded, sorted.
joblog_ok() {
	awk -F'\t' 'NR > 1 && $7 == 0 && $8 == 0 { print $1 }' "$1" | sort -n
}

# lines_at_least N FILE: FILE exists and has N lines or more.
lines_at_least() {
	[ -f "$2" ] && [ "$(wc -l < "$2")" -ge "$1" ]
}

# ok_at_least N JOBLOG: the joblog records N or more jobs as succeeded.
ok_at_least() {
	[ -f "$2" ] && [ "$(joblog_ok "$2" | wc -l)" -ge "$1" ]
}

# feed LINE FIFO: write a job line to a FIFO, giving up if nobody reads it.
feed() {
	timeout 10 sh -c 'printf "%s\n" "$1" > "$2"' sh "$1" "$2" || fail "nobody read $2"
}

# running COMMANDLINE: a process with exactly this command line exists.
running() {
	pgrep -xf "$1" >/dev/null
}

not_running() {
	! running "$1"
}

# wait_for SECONDS COMMAND...: poll until the command succeeds.  The
# command is run again each time, so pass a function, not a $(...).
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
}

# skip WHY: the test cannot run here; automake counts it as skipped (and
# build-aux/check, where everything must run, as failed).
skip() {
	echo "SKIP: $*"
	exit 77
}

# have_servers pg|my|all: the server programs tests/servers.sh runs are
# installed, or the test is skipped, saying what to install.
have_servers() {
	case $1 in pg|all) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
		skip "no PostgreSQL server here to start (install postgresql, or see README: Set-up)" ;;
	esac
	case $1 in my|all) command -v mariadbd >/dev/null 2>&1 ||
		skip "no MariaDB server here to start (install mariadb-server, or see README: Set-up)" ;;
	esac
}

# private_servers [pg|my|all]: throwaway database servers of this test's
# own (tests/servers.sh), for tests that restart them; sets MPW_SERVERS
# and stops them when the test ends.
private_servers() {
	have_servers "${1:-all}"
	SERVERS=$(mktemp -d "${TMPDIR:-/tmp}/mpw-servers.XXXXXX")
	if ! "$SRCDIR/tests/servers.sh" start "$SERVERS" "${1:-all}" >servers.out 2>&1; then
		cat servers.out
		fail "cannot start private servers"
		finish
	fi
	trap '"$SRCDIR/tests/servers.sh" stop "$SERVERS" >/dev/null 2>&1; cleanup' EXIT
	MPW_SERVERS=$SERVERS
}

finish() {
	echo "$checks checks, $failures failed"
	[ "$failures" -eq 0 ]
	exit $?
}
