# The database server restarts mid-run: workers reconnect, run their init
# hook again, and every (idempotent) job is done exactly once.  Uses
# private servers, so restarting them disturbs no other test.
. "$SRCDIR/tests/lib.sh"

private_servers all

for DRIVER in postgresql mysql; do
	. "$SRCDIR/tests/dblib.sh"
	TBL=r_$DRIVER
	q "CREATE TABLE $TBL (id INTEGER PRIMARY KEY, v VARCHAR(20))"
	for i in $(seq 1 3000); do
		case $DRIVER in
		postgresql) echo "INSERT INTO $TBL SELECT $i, 'r' FROM pg_sleep(0.003) ON CONFLICT DO NOTHING" ;;
		mysql) echo "INSERT IGNORE INTO $TBL SELECT $i, SLEEP(0.003)" ;;
		esac
	done > jobs.sql
	case $DRIVER in
	postgresql) init="init = SET application_name = 'mpw-restart'" ;;
	mysql) init="init = SET SESSION sql_mode = 'STRICT_ALL_TABLES'" ;;
	esac
	{ printf '[pool]\nworkers = 4\njoblog = %s.joblog\n[jobs]\ntype = sql\nfile = jobs.sql\n' $DRIVER; db_section "$init"; } > r.ini
	"$MPWORKER" -c r.ini --no-progress >out 2>err &
	mpw=$!
	wait_for 30 ok_at_least 600 $DRIVER.joblog || fail "$DRIVER: jobs did not run"
	"$SRCDIR/tests/servers.sh" restart "$SERVERS" "$(echo $DRIVER | cut -c1-2 | sed 's/po/pg/')" >>servers.out 2>&1 ||
		fail "$DRIVER: the restart failed"
	wait $mpw; rc=$?
	expect_eq "$DRIVER: the run survives a server restart" "$rc" 0
	expect_grep "$DRIVER: workers saw the connection go" "connection lost .*; reconnecting" err
	expect_grep "$DRIVER: and came back" "reconnected" err
	expect_eq "$DRIVER: every job is recorded once, as done" \
		"$(joblog_ok $DRIVER.joblog | wc -l) $(joblog_ok $DRIVER.joblog | sort -u | wc -l) $(tail -n +2 $DRIVER.joblog | wc -l)" "3000 3000 3000"
	expect_eq "$DRIVER: every row is there once" "$(q "SELECT count(*), count(DISTINCT id) FROM $TBL")" "$(printf '3000\t3000')"
done

# With [sql] statement, each worker prepares it again on its new
# connection: the jobs after the restart run, none fails.
for DRIVER in postgresql mysql; do
	. "$SRCDIR/tests/dblib.sh"
	TBL=s_$DRIVER
	q "CREATE TABLE $TBL (id INTEGER PRIMARY KEY, v VARCHAR(20))"
	case $DRIVER in
	postgresql) st="INSERT INTO $TBL SELECT \$1::int, \$2 FROM pg_sleep(0.003) ON CONFLICT DO NOTHING" ;;
	mysql) st="INSERT IGNORE INTO $TBL SELECT \$1, CONCAT(\$2, SLEEP(0.003))" ;;
	esac
	seq 1 3000 | sed 's/$/\tr/' > jobs.tsv
	{ printf '[pool]\nworkers = 4\njoblog = s%s.joblog\n[jobs]\ntype = sql\nfile = jobs.tsv\n[sql]\nstatement = %s\n' $DRIVER "$st"
	  db_section; } > s.ini
	"$MPWORKER" -c s.ini --no-progress >out 2>err &
	mpw=$!
	wait_for 30 ok_at_least 600 s$DRIVER.joblog || fail "$DRIVER statement: jobs did not run"
	"$SRCDIR/tests/servers.sh" restart "$SERVERS" "$(echo $DRIVER | cut -c1-2 | sed 's/po/pg/')" >>servers.out 2>&1 ||
		fail "$DRIVER: the restart failed"
	wait $mpw; rc=$?
	expect_eq "$DRIVER statement: the run survives a server restart" "$rc" 0
	check "$DRIVER statement: the restart came mid-run" grep -q "reconnected" err
	expect_no_grep "$DRIVER statement: and the statement was prepared again" "cannot prepare|job [0-9]+ failed" err
	expect_eq "$DRIVER statement: every job is recorded once, as done" \
		"$(joblog_ok s$DRIVER.joblog | sort -u | wc -l) $(tail -n +2 s$DRIVER.joblog | wc -l)" "3000 3000"
	expect_eq "$DRIVER statement: every row is there once" "$(q "SELECT count(*), count(DISTINCT id) FROM $TBL")" "$(printf '3000\t3000')"
done

# An idle service's workers notice a restart on their own and reconnect,
# so the next job finds a live connection.
DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"
mkfifo svc.fifo
{ printf '[pool]\nworkers = 2\njoblog = svc.joblog\n[jobs]\ntype = sql\nfile = svc.fifo\n[status]\nsocket = svc.sock\n'; db_section; } > svc.ini
"$MPWORKER" --service -c svc.ini >svc.out 2>svc.err &
svc=$!
feed "INSERT INTO r_postgresql VALUES (100001, 'svc')" svc.fifo
wait_for 10 ok_at_least 1 svc.joblog || fail "service: the first job did not run"
"$SRCDIR/tests/servers.sh" restart "$SERVERS" pg >>servers.out 2>&1 || fail "the restart failed"
check "service: idle workers find the lost connection by themselves" \
	wait_for 60 grep -q "connection lost (the server did not answer a liveness check); reconnecting" svc.err
check "service: and reconnect" wait_for 20 grep -q "reconnected" svc.err
reconnects_counted() {
	m=$("$MPWORKER" --metrics -c svc.ini 2>/dev/null | awk '$1 == "mpworker_db_reconnects_total{process=\"worker\"}" { print $2 }')
	[ -n "$m" ] && [ "$m" -ge 1 ] && [ "$m" -eq "$(grep -c 'reconnected$' svc.err)" ]
}
check "service: --metrics counts the reconnects the workers logged" wait_for 20 reconnects_counted
feed "INSERT INTO r_postgresql VALUES (100002, 'svc')" svc.fifo
wait_for 10 ok_at_least 2 svc.joblog || fail "service: a job after the restart did not run"
expect_eq "service: both jobs' rows are there" "$(q "SELECT count(*) FROM r_postgresql WHERE id > 100000")" 2
kill -TERM $svc
wait $svc
expect_eq "service: stops with exit 0" "$?" 0

# Fast jobs go to PostgreSQL in pipelines; a restart in the middle of one
# must lose nothing either.
DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"
TBL=p_fast
q "CREATE TABLE $TBL (id INTEGER PRIMARY KEY, v VARCHAR(20))"
seq 1 150000 | awk -v t=$TBL '{ printf "INSERT INTO %s VALUES (%d, '\''p'\'') ON CONFLICT DO NOTHING\n", t, $1 }' > fast.sql
{ printf '[pool]\nworkers = 4\njoblog = fast.joblog\n[jobs]\ntype = sql\nfile = fast.sql\n'; db_section; } > fast.ini
"$MPWORKER" -c fast.ini --no-progress >out 2>err &
mpw=$!
wait_for 30 ok_at_least 20000 fast.joblog || fail "pipelined jobs did not run"
"$SRCDIR/tests/servers.sh" restart "$SERVERS" pg >>servers.out 2>&1 || fail "the restart failed"
wait $mpw; rc=$?
expect_eq "pipelined: the run survives a server restart" "$rc" 0
check "pipelined: the restart came mid-run" grep -q "connection lost" err
expect_eq "pipelined: every job recorded once, as done" \
	"$(joblog_ok fast.joblog | sort -u | wc -l) $(tail -n +2 fast.joblog | wc -l)" "150000 150000"
expect_eq "pipelined: every row is there once" "$(q "SELECT count(*), count(DISTINCT id) FROM $TBL")" "$(printf '150000\t150000')"

finish
