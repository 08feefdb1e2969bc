# The shipped SQLite example (the README's demo) runs as described.
. "$SRCDIR/tests/lib.sh"

cp "$SRCDIR"/etc/examples/sql-sqlite.ini "$SRCDIR"/etc/examples/sql-sqlite.sql "$SRCDIR"/etc/examples/sql-sqlite-report.ini .
run_mpw -c sql-sqlite.ini
expect_eq "the demo exits 1: one statement fails on purpose" "$rc" 1
expect_grep "that one is named with SQLite's message" "job 501 failed: table orders has no column named discount" err
expect_eq "the joblog records 500 successes" "$(joblog_ok sql-sqlite.joblog | wc -l)" 500
check "the database was made next to the config" test -s demo.db
# Many workers opening a new database at once all get it into WAL mode.
for i in 1 2 3 4 5; do
	rm -f demo.db demo.db-wal demo.db-shm
	run_mpw -c sql-sqlite.ini -j 8 --joblog fresh.joblog
	[ "$rc" = 1 ] || fail "8 workers on a new database, round $i: exit $rc: $(head -3 err)"
done
ok "8 workers on a new database start every time"
run_mpw -c sql-sqlite-report.ini
expect_eq "the report step exits 0" "$rc" 0
expect_eq "it sums 500 orders over 8 customers" "$(awk -F'\t' '{ n += $2 } END { print NR, n }' out)" "8 500"
run_mpw -c sql-sqlite.ini
expect_eq "running the demo again gives the same outcome" "$rc" 1

finish
