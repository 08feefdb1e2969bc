# SQL jobs across a network: PostgreSQL behind a proxy that delays every
# packet 5 ms each way.  Each worker must keep enough statements in
# flight to cover the round trip, yet never hold a long job back behind
# another; a server restart mid-pipeline loses nothing.
. "$SRCDIR/tests/lib.sh"

private_servers pg
DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"

python3 "$SRCDIR/bench/delayproxy.py" 0 "127.0.0.1:$MPW_PG_PORT" 5 >proxy.out 2>&1 &
wait_for 10 grep -qs '^ready' proxy.out || fail "the delay proxy did not start"
proxy_port=$(awk '{ print $2 }' proxy.out)
far() {	# the [database] section, through the proxy
	printf '[database]\ndriver = postgresql\nhost = 127.0.0.1\nport = %s\nuser = mpw\npassword_file = %s/pw\ndbname = mpw\n' \
		"$proxy_port" "$T"
}

# Short statements: the window grows past one round trip's worth.
seq 1 3000 | sed 's/.*/SELECT &/' > sel.sql
{ printf '[pool]\nworkers = 2\njoblog = sel.joblog\n[jobs]\ntype = sql\nfile = sel.sql\n'; far; } > sel.ini
"$MPWORKER" --no-progress -v -c sel.ini >out 2>err
expect_eq "3,000 SELECTs through the delay exit 0" "$?" 0
expect_eq "every row came back" "$(sort -nu out | wc -l)" 3000
biggest=$(sed -n 's/.*running \([0-9]*\) jobs as a group/\1/p' err | sort -n | tail -1)
check "workers pipeline many statements per round trip (largest group: $biggest)" test "${biggest:-0}" -ge 32

# Long statements after short ones: each worker still holds one at a time.
# Every long job logs when it ran; none may have run alone while another
# waited behind it.
q "CREATE TABLE naps (id int, t0 timestamptz, t1 timestamptz)"
q "CREATE FUNCTION nap(i int) RETURNS void LANGUAGE plpgsql AS \$\$
	DECLARE s timestamptz := clock_timestamp();
	BEGIN PERFORM pg_sleep(0.5); INSERT INTO naps VALUES (i, s, clock_timestamp()); END \$\$"
{ seq 1 500 | sed 's/.*/SELECT &/'; for i in 1 2 3 4 5 6; do echo "SELECT nap($i)"; done; } > long.sql
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\nfile = long.sql\n'; far; } > long.ini
"$MPWORKER" --no-progress -c long.ini >out 2>err
expect_eq "short then long statements exit 0" "$?" 0
alone=$(q "SELECT count(*) FROM naps a WHERE NOT EXISTS (SELECT 1 FROM naps b WHERE b.id <> a.id AND b.t0 < a.t1 AND a.t0 < b.t1)")
expect_eq "every long job ran beside another, two at a time" "$alone" 0
expect_eq "never more than two at once" \
	"$(q "SELECT max(c) FROM (SELECT (SELECT count(*) FROM naps b WHERE b.t0 <= a.t0 AND a.t0 < b.t1) AS c FROM naps a) x")" 2

# The same at the tail of a run while one worker is busy: while the
# other's pg_sleep holds it, the first worker drains the short ones, and
# must not take the last long ones all into one pipeline of its own.
q "TRUNCATE naps"
{ seq 1 300 | sed 's/.*/SELECT &/'; echo "SELECT pg_sleep(0.3)"; seq 1 1000 | sed 's/.*/SELECT &/'
  for i in 1 2 3 4 5 6; do echo "SELECT nap($i)"; done; } > tail.sql
{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\nfile = tail.sql\n'; far; } > tail.ini
"$MPWORKER" --no-progress -c tail.ini >out 2>err
expect_eq "a long job, short ones, then long ones: exit 0" "$?" 0
alone=$(q "SELECT count(*) FROM naps a WHERE NOT EXISTS (SELECT 1 FROM naps b WHERE b.id <> a.id AND b.t0 < a.t1 AND a.t0 < b.t1)")
expect_eq "the last long jobs are shared between the workers" "$alone" 0

# Rename lookups across the delay go in pipelines too: every file renamed,
# in groups.
q "CREATE TABLE rmap (o text PRIMARY KEY, n text)"
q "INSERT INTO rmap SELECT 'f' || g || '.dat', 'g' || g || '.dat' FROM generate_series(1, 2000) g"
mkdir in
(cd in && seq 1 2000 | sed 's/.*/f&.dat/' | xargs touch)
{ printf '[pool]\nworkers = 2\njoblog = ren.joblog\n[jobs]\ntype = rename\n[rename]\ndirectory = in\nextensions = .dat\n'
  printf 'lookup = SELECT n FROM rmap WHERE o = $1\n'; far; } > ren.ini
"$MPWORKER" --no-progress -v -c ren.ini >out 2>err
expect_eq "2,000 renames through the delay exit 0" "$?" 0
expect_eq "every file has its new name" "$(ls in | grep -c '^g[0-9]*\.dat$')" 2000
biggest=$(sed -n 's/.*running \([0-9]*\) jobs as a group/\1/p' err | sort -n | tail -1)
check "lookups go many per round trip (largest group: $biggest)" test "${biggest:-0}" -ge 16
run_mpw --undo ren.joblog
expect_eq "and --undo puts every name back" "$(ls in | grep -c '^f[0-9]*\.dat$')" 2000

# A server restart mid-pipeline, through the delay: every key is there and
# every job is recorded as done exactly once.
q "CREATE TABLE far (k int PRIMARY KEY, n int NOT NULL DEFAULT 1)"
seq 1 20000 | awk '{ printf "INSERT INTO far VALUES (%d) ON CONFLICT (k) DO UPDATE SET n = far.n + 1\n", $1 }' > ins.sql
{ printf '[pool]\nworkers = 2\njoblog = ins.joblog\n[jobs]\ntype = sql\nfile = ins.sql\n'; far; } > ins.ini
"$MPWORKER" --no-progress -c ins.ini >out 2>err &
mpw=$!
wait_for 60 ok_at_least 2000 ins.joblog || fail "the inserts did not start"
"$SRCDIR/tests/servers.sh" restart "$SERVERS" pg >>servers.out 2>&1 || fail "the restart failed"
wait $mpw
expect_eq "the run survives the restart: exit 0" "$?" 0
expect_eq "every key is there" "$(q 'SELECT count(*) FROM far')" 20000
expect_eq "every job is recorded as done exactly once" \
	"$(joblog_ok ins.joblog | uniq | wc -l) $(joblog_ok ins.joblog | wc -l)" "20000 20000"
# Only statements in flight at the restart may have run twice.
twice=$(q 'SELECT count(*) FROM far WHERE n > 1')
check "only statements in flight at the restart ran twice ($twice)" test "$twice" -le 512


# Batches across the delay: several in one round trip, and a bad statement
# still fails alone while the batches around it stand.
q "CREATE TABLE bt (k int PRIMARY KEY)"
q "INSERT INTO bt VALUES (0)"
for i in $(seq 1 6000); do if [ $((i % 1500)) = 0 ]; then echo "INSERT INTO bt VALUES (0)"; else echo "INSERT INTO bt VALUES ($i)"; fi; done > bt.sql
{ printf '[pool]\nworkers = 2\njoblog = bt.joblog\n[jobs]\ntype = sql\nfile = bt.sql\n[sql]\nbatch = 50\n'; far; } > bt.ini
"$MPWORKER" --no-progress -v -c bt.ini >out 2>err
expect_eq "batches through the delay, four bad statements: exit 1" "$?" 1
expect_eq "every good row is there, once" "$(q 'SELECT count(*), count(DISTINCT k) FROM bt')" "$(printf '5997\t5997')"
expect_eq "exactly the bad ones failed" "$(awk -F'\t' 'NR > 1 && $7 != 0 { print $1 }' bt.joblog | sort -n | tr '\n' ' ')" "1500 3000 4500 6000 "
biggest=$(sed -n 's/.*running \([0-9]*\) jobs as a group/\1/p' err | sort -n | tail -1)
check "several batches go in one round trip (largest group: $biggest)" test "${biggest:-0}" -gt 50

finish
