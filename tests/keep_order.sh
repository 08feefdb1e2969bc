# [output] keep_order (-k): output, and joblog records, in input order,
# with memory bounded however long one job holds the rest back.
. "$SRCDIR/tests/lib.sh"

# Memory is measured in the plain build only: AddressSanitizer's shadow and
# quarantine say nothing about mpworker's own.
sanitized() { ldd "$MPWORKER" | grep -q 'libasan'; }

# 100,000 jobs, some slow, four at a time: exact input order.  SQLite
# statements, so that the test spends its time on ordering, not on forks.
[ -e "$BUILDDIR/drivers/sqlite.so" ] || { fail "this build has no SQLite driver"; finish; }
seq 1 100000 | awk '{ if ($1 % 997 == 0) printf "SELECT count(*) * 0 + %d FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c)\n", $1; else print "SELECT " $1 }' > many.txt
/usr/bin/time -f '%M' -o many.rss "$MPWORKER" --no-progress -j 4 -k --sql -o jobs.file=many.txt -o pool.joblog=many.joblog \
	-o database.driver=sqlite -o database.path=many.db -o database.create=yes >out 2>err
expect_eq "100,000 jobs with -k: exit 0" "$?" 0
expect_eq "every line, in input order" "$(seq 1 100000 | cmp - out && echo same)" same
expect_eq "the joblog in input order too" "$(tail -n +2 many.joblog | cut -f1 | cmp - <(seq 1 100000) && echo same)" same
sanitized || check "memory stays small ($(cat many.rss) kB peak)" test "$(cat many.rss)" -lt 65536

# One slow first job holds back 3,000 that each write 10 KB: past 16 MB the
# held output goes to a scratch file, and still comes out in order.
{ echo "sleep 2; echo first"; seq 2 3001 | awk '{ printf "head -c 10000 /dev/zero | tr \"\\\\0\" x; echo %d\n", $1 }'; } > held.txt
/usr/bin/time -f '%M' -o held.rss "$MPWORKER" --no-progress -j 4 -k -o jobs.file=held.txt >out 2>err
expect_eq "held output: exit 0" "$?" 0
expect_eq "first comes first" "$(head -1 out)" first
expect_eq "then the rest, in order" "$(sed 's/^x*//' out | tail -n +2 | cmp - <(seq 2 3001) && echo same)" same
sanitized || check "30 MB held, memory under 48 MB ($(cat held.rss) kB peak)" test "$(cat held.rss)" -lt 49152

# No job starts more than 4,096 ahead of the earliest not yet out: with the
# first job slow, the 5,000th has not run when the first ends.
{ echo "sleep 2; date +%s.%N > first.end"; seq 2 5000 | sed 's/.*/true/'; echo "date +%s.%N > last.start"; } > window.txt
run_mpw -j 4 -k -o jobs.file=window.txt
expect_eq "the window run: exit 0" "$rc" 0
check "a job 5,000 ahead waited for the first" awk -v a="$(cat first.end)" -v b="$(cat last.start)" 'BEGIN { exit !(b >= a) }'

# --dry-run plans in input order.
printf 'echo 1\nsleep 0.3; echo 2\necho 3\n' > dry.txt
run_mpw -j 3 -o jobs.file=dry.txt --dry-run
expect_eq "--dry-run prints its plan in input order" "$(tr '\n' '|' < out)" "echo 1|sleep 0.3; echo 2|echo 3|"

finish
