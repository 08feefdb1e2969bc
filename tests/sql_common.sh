# SQL jobs against a real database; run through sql_DRIVER.sh.
. "$SRCDIR/tests/lib.sh"
. "$SRCDIR/tests/dblib.sh"

q "CREATE TABLE $TBL (id INTEGER PRIMARY KEY, v VARCHAR(100))" || fail "cannot create the table"

# The init hook runs on each worker's connection before its jobs.
case $DRIVER in
postgresql) init="init = SET application_name = 'mpw-init-check'"; probe="SELECT current_setting('application_name')"; want=mpw-init-check ;;
mysql) init="init = SET @mpw_marker = 'mpw-init-check'"; probe="SELECT @mpw_marker"; want=mpw-init-check ;;
sqlite) init="init = PRAGMA foreign_keys = ON"; probe="PRAGMA foreign_keys"; want=1 ;;
esac
{ printf '[pool]\nworkers = 3\n[jobs]\ntype = sql\n'; for i in 1 2 3 4 5 6; do echo "job = $probe"; done; db_section "$init"; } > init.ini
run_mpw -c init.ini
expect_eq "init hook: every job sees its effect" "$(sort -u out)" "$want"

# A command run by a worker that holds a connection inherits none of its
# descriptors (the database socket above all): it has the ones mpworker
# was started with, as ls run here has.
{ printf '[pool]\nworkers = 1\n[jobs]\ntype = command\njob = ls /proc/self/fd\n'; db_section; } > fds.ini
run_mpw -c fds.ini
expect_eq "a command inherits no descriptor of its worker ($DRIVER)" "$(sort -n out | tr '\n' ' ')" \
	"$(ls /proc/self/fd | sort -n | tr '\n' ' ')"

# The driver is loaded by workers only: the supervisor never maps it.
mkfifo maps.fifo
{ printf '[pool]\nworkers = 2\njoblog = maps.joblog\n[jobs]\ntype = sql\nfile = maps.fifo\n'; db_section; } > maps.ini
"$MPWORKER" --service -c maps.ini >maps.out 2>maps.err &
svc=$!
feed "SELECT 1" maps.fifo
wait_for 10 ok_at_least 1 maps.joblog || fail "service: the job did not run"
expect_eq "the supervisor does not map the $DRIVER driver" "$(grep -c "/$DRIVER\.so$" /proc/$svc/maps)" 0
expect_eq "each worker maps it" "$(for w in $(pgrep -P $svc); do grep -q "/$DRIVER\.so$" /proc/$w/maps && echo y; done | wc -l)" 2
kill -TERM $svc
wait $svc
expect_eq "the service stops with exit 0" "$?" 0

# 20,000 INSERTs with 4 workers give exactly 20,000 rows.
seq 1 20000 | awk -v t="$TBL" '{ printf "INSERT INTO %s VALUES (%d, '\''v%d'\'');\n", t, $1, $1 }' > ins.sql
{ printf '[pool]\nworkers = 4\njoblog = ins.joblog\n[jobs]\ntype = sql\nfile = ins.sql\n'; db_section; } > ins.ini
run_mpw -c ins.ini
expect_eq "20,000 inserts exit 0" "$rc" 0
expect_eq "20,000 rows, ids 1..20000" "$(q "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM $TBL")" "$(printf '20000\t20000\t1\t20000')"
expect_eq "20,000 successes in the joblog" "$(joblog_ok ins.joblog | wc -l)" 20000

# Failing statements among good ones: exact counts, the server's message, the others go on.
q "DELETE FROM $TBL"
for i in $(seq 1 200); do
	# The duplicates collide with a row made before the run, so which jobs fail
	# does not depend on which worker gets there first.
	if [ $((i % 20)) = 0 ]; then echo "INSERT INTO $TBL VALUES (100000, 'duplicate')"; else echo "INSERT INTO $TBL VALUES ($i, 'v')"; fi
done > mixed.sql
echo "INSERT INTO no_such_table_$$ VALUES (1)" >> mixed.sql
for pipeline in yes no; do
	q "DELETE FROM $TBL"
	q "INSERT INTO $TBL VALUES (100000, 'before')"
	{ printf '[pool]\nworkers = 2\njoblog = mixed.joblog\n[jobs]\ntype = sql\nfile = mixed.sql\n[sql]\npipeline = %s\n' $pipeline; db_section; } > mixed.ini
	run_mpw -c mixed.ini
	expect_eq "failures make exit 1 (pipeline $pipeline)" "$rc" 1
	expect_eq "190 rows: every good statement ran (pipeline $pipeline)" "$(q "SELECT count(*) FROM $TBL WHERE id < 100000")" 190
	expect_eq "exactly the duplicates and the bad table failed (pipeline $pipeline)" \
		"$(awk -F'\t' 'NR > 1 && $7 != 0 { print $1 }' mixed.joblog | sort -n | tr '\n' ' ')" \
		"20 40 60 80 100 120 140 160 180 200 201 "
	expect_eq "190 successes and 11 failures in the joblog (pipeline $pipeline)" \
		"$(joblog_ok mixed.joblog | wc -l) $(awk -F'\t' 'NR > 1 && $7 != 0' mixed.joblog | wc -l)" "190 11"
	expect_grep "the report counts them (pipeline $pipeline)" "201 jobs: 190 succeeded, 11 failed" err
	expect_grep "the server's message is logged (pipeline $pipeline)" \
		"job 20 failed: .*(duplicate key|Duplicate entry|UNIQUE constraint).*" err
	expect_grep "with the error code (pipeline $pipeline)" "job 201 failed: .*no_such_table_$$.* \(([0-9A-Z]{5}|[0-9]+)\)" err
done

# SELECT output: one tab-separated line per row, NULL as \N, tabs escaped; one block per job.
q "DELETE FROM $TBL"
q "INSERT INTO $TBL VALUES (1, 'one')"
q "INSERT INTO $TBL VALUES (2, NULL)"
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\n'
  echo "job = SELECT id, v FROM $TBL ORDER BY id"
  # MySQL reads a backslash in a literal as an escape: write it twice there.
  if [ "$DRIVER" = mysql ]; then echo "job = SELECT 'tab	here', 'back\\\\slash'"; else echo "job = SELECT 'tab	here', 'back\\slash'"; fi
  db_section; } > sel.ini
run_mpw -c sel.ini
expect_eq "select exits 0" "$rc" 0
expect_grep "rows are tab-separated" "^1	one$" out
expect_grep "NULL is \\\\N" '^2	\\N$' out
expect_grep "a tab inside a value is escaped" '^tab\\there	back\\\\slash$' out
expect_eq "the two rows of one job stay together" "$(grep -A1 '^1	one$' out | tail -1)" "$(printf '2\t\\N')"

# A batch with a bad statement inside: the others commit, each job is recorded alone.
q "DELETE FROM $TBL"
for i in $(seq 1 100); do
	case $i in 7|50|93) echo "INSERT INTO $TBL VALUES (oops)" ;; *) echo "INSERT INTO $TBL VALUES ($i, 'b')" ;; esac
done > batch.sql
for pipeline in yes no; do
	q "DELETE FROM $TBL"
	{ printf '[pool]\nworkers = 2\njoblog = batch.joblog\n[jobs]\ntype = sql\nfile = batch.sql\n[sql]\nbatch = 10\npipeline = %s\n' $pipeline; db_section; } > batch.ini
	run_mpw -c batch.ini
	expect_eq "a batch with bad statements exits 1 (pipeline $pipeline)" "$rc" 1
	expect_eq "the 97 good ones are in the table (pipeline $pipeline)" "$(q "SELECT count(*) FROM $TBL")" 97
	expect_eq "the joblog has one line per job (pipeline $pipeline)" "$(tail -n +2 batch.joblog | wc -l)" 100
	expect_eq "exactly 7, 50 and 93 failed (pipeline $pipeline)" \
		"$(awk -F'\t' 'NR > 1 && $7 != 0 { print $1 }' batch.joblog | sort -n | tr '\n' ' ')" "7 50 93 "
done

# A worker killed mid-run: its jobs are retried, every row is there once.
q "DELETE FROM $TBL"
for i in $(seq 1 400); do insert_once "$i" k; echo "$(sleep_sql 0.01)"; done > kill.sql
{ printf '[pool]\nworkers = 3\nretries = 2\njoblog = kill.joblog\n[jobs]\ntype = sql\nfile = kill.sql\n'; db_section; } > kill.ini
"$MPWORKER" -c kill.ini --no-progress >out 2>err &
mpw=$!
wait_for 20 ok_at_least 100 kill.joblog || fail "the jobs did not start"
victim=$(pgrep -P $mpw | head -1)
kill -9 "$victim"
wait $mpw; rc=$?
expect_eq "a killed worker does not fail the run" "$rc" 0
expect_grep "its death is logged" "worker [0-9]+ \(pid $victim\) killed by signal 9" err
expect_eq "every job is recorded as done" "$(joblog_ok kill.joblog | sort -nu | wc -l)" 800
expect_eq "every row is there once" "$(q "SELECT count(*), count(DISTINCT id) FROM $TBL")" "$(printf '400\t400')"

# Bad credentials (or an unopenable database): exit 3, a clear message, nothing run.
case $DRIVER in
postgresql) bad="[database]
driver = postgresql
host = 127.0.0.1
port = $MPW_PG_PORT
user = mpw
password_file = $T/wrongpw
dbname = mpw"; want="password authentication failed" ;;
mysql) bad="[database]
driver = mysql
host = 127.0.0.1
port = $MPW_MY_PORT
user = mpw
password_file = $T/wrongpw
dbname = mpw"; want="Access denied for user 'mpw'" ;;
sqlite) bad="[database]
driver = sqlite
path = $T/no/such/dir/x.db
create = yes"; want="unable to open database file" ;;
esac
echo wrong > wrongpw
{ printf '[pool]\nworkers = 4\n[jobs]\ntype = sql\njob = SELECT 1\n'; echo "$bad"; } > bad.ini
run_mpw -c bad.ini
expect_eq "bad credentials exit 3" "$rc" 3
expect_grep "the message says why" "workers cannot start: cannot connect to $DRIVER: .*$want" err
expect_eq "once, with the count, not once per worker" \
	"$(grep -c 'cannot start\|could not start' err) $(grep -c '(4 workers failed)$' err)" "1 1"
expect_no_grep "the password is never logged" "wrong|mpwpass" err
expect_eq "nothing ran" "$(wc -c < out)" 0
# A failing init statement is the same.
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\njob = SELECT 1\n'; db_section "init = SELECT * FROM no_such_table_$$"; } > badinit.ini
run_mpw -c badinit.ini
expect_eq "a failing init statement exits 3" "$rc" 3
expect_grep "naming the statement" "init statement 1 \(SELECT \* FROM no_such_table_$$\) failed" err

# SQLite: a mistyped path is an error, never a new empty database (least
# of all in a dry run); create = yes makes one.
if [ "$DRIVER" = sqlite ]; then
	{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\njob = SELECT 1\n[database]\ndriver = sqlite\npath = %s/tset.db\n' "$T"; } > typo.ini
	run_mpw -c typo.ini
	expect_eq "a database file that is not there: exit 3" "$rc" 3
	expect_grep "saying so" "tset.db: No such file or directory \(a new database is made only with \[database\] create = yes" err
	check "and no file was made" test ! -e tset.db
	echo "create = yes" >> typo.ini
	run_mpw -c typo.ini --dry-run
	check "a dry run makes none, even with create = yes" test ! -e tset.db
	run_mpw -c typo.ini
	expect_eq "create = yes makes it: exit 0" "$rc" 0
	check "there it is" test -s tset.db
fi

# SQL scripts.  A line mode file: "--" comment lines are not jobs.  With
# [jobs] split = statement, a ';' ends a statement as psql (or mysql) reads
# it: not inside quotes, dollar quotes or comments; statements may span
# lines, and the last needs no ';'.
q "DELETE FROM $TBL"
{ echo "-- a comment line, not a job"; echo "   -- nor this"; echo "INSERT INTO $TBL VALUES (1, 'one')"; } > comments.sql
{ printf '[pool]\nworkers = 1\njoblog = comments.joblog\n[jobs]\ntype = sql\nfile = comments.sql\n'; db_section; } > comments.ini
run_mpw -c comments.ini
expect_eq "comment lines are not jobs: exit 0" "$rc" 0
expect_eq "one job, the INSERT" "$(tail -n +2 comments.joblog | wc -l) $(q "SELECT count(*) FROM $TBL")" "1 1"
q "DELETE FROM $TBL"
{
	echo "-- the script's own comment; with a semicolon"
	echo "INSERT INTO $TBL VALUES (1,"
	echo "  'semi; colon');  -- trailing; comment"
	echo "/* a block; comment */ INSERT INTO $TBL VALUES (2, 'it''s; quoted');"
	echo ";"
	case $DRIVER in
	postgresql) echo "INSERT INTO $TBL VALUES (3, \$\$dollar; quoted\$\$);"
		echo "INSERT INTO $TBL VALUES (4, \$t\$ \$\$ ; \$t\$);"
		echo "INSERT INTO $TBL VALUES (5, E'back\\'; slash')" ;;
	mysql) echo "INSERT INTO $TBL VALUES (3, 'back\\'; slash'); # a hash; comment"
		echo "INSERT INTO $TBL VALUES (4, \"double\\\"; quoted\");"
		echo "INSERT INTO \`$TBL\` VALUES (5, 'x')" ;;
	sqlite) echo "INSERT INTO $TBL VALUES (3, 'x');"
		echo "INSERT INTO \"$TBL\" VALUES (4, 'y'); INSERT INTO $TBL VALUES (5, 'z')" ;;
	esac
} > script.sql
{ printf '[pool]\nworkers = 2\njoblog = script.joblog\n[jobs]\ntype = sql\nfile = script.sql\nsplit = statement\n'; db_section; } > script.ini
run_mpw -c script.ini
expect_eq "split = statement: exit 0" "$rc" 0
expect_eq "five statements, five jobs, five rows" "$(tail -n +2 script.joblog | wc -l) $(q "SELECT count(*) FROM $TBL")" "5 5"
expect_eq "each value whole" "$(q "SELECT v FROM $TBL WHERE id <= 2 ORDER BY id" | tr '\n' '|')" "semi; colon|it's; quoted|"
q "DELETE FROM $TBL"

# [sql] ledger: exactly once.  mpworker itself is killed (SIGKILL) during a
# batched load, after batches committed that the joblog does not record
# yet; --resume then runs every job left and none twice: the ledger knows
# the committed ones.  Plain INSERTs into a primary key would fail if run
# again.
q "DELETE FROM $TBL"
seq 1 20000 | awk -v t="$TBL" '{ printf "INSERT INTO %s VALUES (%d, '\''l'\'')\n", t, $1 }' > ledger.sql
{ printf '[pool]\nworkers = 3\njoblog = ledger.joblog\n[jobs]\ntype = sql\nfile = ledger.sql\n'
  printf '[sql]\nbatch = 50\nledger = ledger_%s\n' $$; db_section; } > ledger.ini
"$MPWORKER" -c ledger.ini --no-progress >out 2>err &
mpw=$!
wait_for 60 ok_at_least 3000 ledger.joblog || fail "the ledger load did not start"
kill -9 $mpw
wait $mpw 2>/dev/null
sleep 1	# its workers see it gone and stop
rows=$(q "SELECT count(*) FROM $TBL")
recorded=$(joblog_ok ledger.joblog | wc -l)
check "the kill left committed jobs the joblog does not record ($rows rows, $recorded recorded)" test "$rows" -gt "$recorded"
expect_eq "the ledger holds exactly the committed jobs" "$(q "SELECT count(*) FROM ledger_$$")" "$rows"
run_mpw -c ledger.ini --resume
expect_eq "--resume with the ledger: exit 0, no job failed" "$rc" 0
expect_eq "every row once" "$(q "SELECT count(*), count(DISTINCT id) FROM $TBL")" "$(printf '20000\t20000')"
expect_eq "every job recorded as done" "$(joblog_ok ledger.joblog | sort -nu | wc -l)" 20000
expect_grep "the ones done before are said, not run" "job [0-9]+ was done before \(the ledger has it\): not run again" err
q "DROP TABLE ledger_$$"
q "DELETE FROM $TBL"

# PostgreSQL: a backslash-escaped quote (E'\'') does not hide the ';' of a
# second statement from the pipeline's one-statement check.  Fast
# statements first open the window, so that it goes in a pipeline.
if [ "$DRIVER" = postgresql ]; then
	{ seq 1 200 | sed 's/.*/SELECT 1/'; echo "SELECT E'\\''; SELECT 2"; seq 1 50 | sed 's/.*/SELECT 1/'; } > esc.sql
	{ printf '[pool]\nworkers = 1\n[jobs]\ntype = sql\nfile = esc.sql\n'; db_section; } > esc.ini
	run_mpw -c esc.ini
	expect_eq "E'\\'' then a second statement runs in a pipeline (exit)" "$rc" 0
	expect_eq "and gives the rows of both" "$(grep -v '^1$' out | sort | tr '\n' ' ')" "' 2 "
fi

# job_timeout is per job, also in a batch: sixty 0.2 s statements with
# batch = 50 and job_timeout = 0.25 all succeed, no worker killed, though
# a batch of them takes far longer than the timeout and its grace.  Fast
# statements first open the window, so that they go as whole batches.
case $DRIVER in
postgresql) nap="SELECT pg_sleep(0.2)" ;;
mysql) nap="SELECT SLEEP(0.2)" ;;
*) nap= ;;
esac
if [ -n "$nap" ]; then
	{ seq 1 300 | sed 's/.*/SELECT &/'; for i in $(seq 1 60); do echo "$nap"; done; } > naps.sql
	{ printf '[pool]\nworkers = 1\njob_timeout = 0.25\njoblog = naps.joblog\n[jobs]\ntype = sql\nfile = naps.sql\n[sql]\nbatch = 50\n'; db_section; } > naps.ini
	run_mpw -c naps.ini
	expect_eq "batches of statements each within job_timeout exit 0" "$rc" 0
	expect_eq "all succeeded" "$(joblog_ok naps.joblog | wc -l)" 360
	expect_no_grep "no worker was killed" "killed|timed out" err
fi

# [sql] statement: one prepared statement, each job line its values in
# COPY text.  Values are data however they look: NULL, empty, tabs,
# newlines, backslashes, unicode, SQL syntax.  $2 before $1 checks that
# each value goes to the placeholder its number names on every server.
case $DRIVER in
mysql) q "CREATE TABLE ${TBL}_p (id INT PRIMARY KEY, v TEXT) CHARSET utf8mb4" ;;
*) q "CREATE TABLE ${TBL}_p (id INT PRIMARY KEY, v TEXT)" ;;
esac
hexq() {	# hexq ID: the stored value in hex, or NULL
	case $DRIVER in
	postgresql) q "SELECT coalesce(encode(convert_to(v, 'UTF8'), 'hex'), 'NULL') FROM ${TBL}_p WHERE id = $1" ;;
	*) q "SELECT CASE WHEN v IS NULL THEN 'NULL' ELSE lower(hex(v)) END FROM ${TBL}_p WHERE id = $1" ;;
	esac
}
hexs() { printf '%b' "$1" | od -An -tx1 | tr -d ' \n'; }
{
	printf '1\tplain\n2\t\\N\n3\t\n4\ta\\tb\n5\tline1\\nline2\n6\tback\\\\slash\n'
	printf '7\t\316\261\316\262\316\263 \342\234\223\n8\t\\x41\\102\\r\n9\t\\\\N\n'
	printf "10\t'); DROP TABLE ${TBL}_p; --\n"
	printf '11\n12\ta\tb\n13\tends\\\n14\tnul\\000here\n'
} > params.tsv
for mode in "pipeline = yes" "pipeline = no" "batch = 4"; do
	q "DELETE FROM ${TBL}_p"
	{ printf '[pool]\nworkers = 2\njoblog = params.joblog\n[jobs]\ntype = sql\nfile = params.tsv\n'
	  printf '[sql]\n%s\nstatement = INSERT INTO %s_p (v, id) VALUES ($2, $1)\n' "$mode" "$TBL"; db_section; } > params.ini
	run_mpw -c params.ini
	expect_eq "statement ($mode): bad lines make exit 1" "$rc" 1
	expect_eq "statement ($mode): the ten good lines are rows" "$(q "SELECT count(*) FROM ${TBL}_p")" 10
	got=; want=
	for i in 1 2 3 4 5 6 7 8 9 10; do got="$got $(hexq $i)"; done
	for v in plain NULL "" 'a\tb' 'line1\nline2' 'back\\slash' '\316\261\316\262\316\263 \342\234\223' 'AB\r' '\\N' \
		"'); DROP TABLE ${TBL}_p; --"; do
		if [ "$v" = NULL ]; then want="$want NULL"; else want="$want $(hexs "$v")"; fi
	done
	expect_eq "statement ($mode): every value arrives as it was written" "$got" "$want"
	expect_eq "statement ($mode): exactly the four bad lines failed" \
		"$(awk -F'\t' 'NR > 1 && $7 != 0 { print $1 }' params.joblog | sort -n | tr '\n' ' ')" "11 12 13 14 "
	expect_grep "statement ($mode): too few fields" "job 11 failed: the statement takes 2 values; the line has 1 field; not run" err
	expect_grep "statement ($mode): too many fields" "job 12 failed: the statement takes 2 values; the line has 3 fields; not run" err
	expect_grep "statement ($mode): a lone backslash" "job 13 failed: the line ends in a lone backslash" err
	expect_grep "statement ($mode): a NUL byte" "job 14 failed: a value holds a NUL byte" err
done
# Rows come back as for any SELECT; a value that fits no column type is
# the server's error for that job alone.
printf '6\n1\nx\n2\n' > sel.tsv
{ printf '[pool]\nworkers = 1\n[jobs]\ntype = sql\nfile = sel.tsv\n[sql]\n'
  printf 'statement = SELECT id, v FROM %s_p WHERE id = $1 + 0\n' "$TBL"; db_section; } > psel.ini
run_mpw -c psel.ini
if [ "$DRIVER" = postgresql ]; then
	expect_eq "statement SELECT: 'x' is not an integer: exit 1" "$rc" 1
	expect_grep "statement SELECT: the server says so" "job 3 failed: .*invalid input syntax for type integer" err
else
	expect_eq "statement SELECT: exit 0" "$rc" 0
fi
expect_eq "statement SELECT: the rows, escaped as always" "$(sort out)" "$(printf '1\tplain\n2\t\\N\n6\tback\\\\slash')"
# A statement that does not prepare stops the run before any job: exit 3.
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\nfile = sel.tsv\n[sql]\nstatement = SELECT * FROM no_such_table_%s WHERE id = $1\n' $$
  db_section; } > badprep.ini
run_mpw -c badprep.ini
expect_eq "a statement that does not prepare exits 3" "$rc" 3
expect_grep "saying so" "cannot prepare \[sql\] statement: .*no_such_table_$$" err
expect_eq "and runs nothing" "$(wc -c < out)" 0
# One without placeholders is a configuration error at its line.
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\nfile = sel.tsv\n[sql]\nstatement = DELETE FROM %s_p\n' "$TBL"; db_section; } > noparam.ini
run_mpw -c noparam.ini
expect_eq "a statement without \$1 exits 2" "$rc" 2
expect_grep "at its line" "noparam.ini:7: \[sql\] statement: it takes no values" err
expect_eq "and deleted nothing" "$(q "SELECT count(*) FROM ${TBL}_p")" 10
q "DROP TABLE ${TBL}_p"

q "DROP TABLE $TBL"
finish
