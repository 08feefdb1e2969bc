# The shipped examples run as their comments say: the SQLite demo (the
# README's), the partitioned export, chunked downloads and a map-reduce
# word count.
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

# Partitioned export: ten id ranges to ten files; together they are the table.
mkdir exp && cp "$SRCDIR"/etc/examples/export-* exp/
sqlite3 exp/export.db < exp/export-setup.sql
run_mpw -c exp/export-sqlite.ini
expect_eq "export (SQLite): exit 0" "$rc" 0
expect_eq "ten files, one per range" "$(ls exp/export/items-*.tsv | wc -l)" 10
sqlite3 -separator "$(printf '\t')" exp/export.db "SELECT id, name, qty FROM items ORDER BY id" > exp/full.tsv
check "their concatenation is a full export" cmp -s exp/full.tsv <(cat exp/export/items-*.tsv)
check "no file is left under a temporary name" test -z "$(find exp/export -name '*.partial')"

DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"
schema=ex_$$
q "CREATE SCHEMA $schema; SET search_path = $schema; $(cat "$SRCDIR"/etc/examples/export-setup.sql)"
mkdir pexp && cp "$SRCDIR"/etc/examples/export-postgresql.ini "$SRCDIR"/etc/examples/export-ranges.tsv pexp/
echo mpwpass > pexp/db.pass && chmod 600 pexp/db.pass
run_mpw -c pexp/export-postgresql.ini -o database.host="$MPW_PG_SOCKET" -o database.port="$MPW_PG_PORT" \
	-o database.user=mpw -o database.dbname=mpw -o database.init="SET search_path = $schema"
expect_eq "export (PostgreSQL): exit 0" "$rc" 0
q "SET search_path = $schema; SELECT id, name, qty FROM items ORDER BY id" > pexp/full.tsv
expect_eq "10,000 rows in the full export" "$(wc -l < pexp/full.tsv)" 10000
check "the ten files together are the full export" cmp -s pexp/full.tsv <(cat pexp/export/items-*.tsv)
q "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE"

# Chunked downloads: three files, four ranges each, joined by a group step.
mkdir srv dl
for f in one.bin two.bin three.bin; do head -c $((700000 + RANDOM)) /dev/urandom > srv/$f; done
python3 "$SRCDIR/tests/rangeserver.py" srv > srv.out 2>&1 &
wait_for 10 grep -qs '^ready' srv.out || fail "the range server did not start"
url=http://127.0.0.1:$(awk '{ print $2 }' srv.out)
cp "$SRCDIR"/etc/examples/download.ini .
"$SRCDIR"/etc/examples/download-plan.sh 4 $url/one.bin $url/two.bin $url/three.bin > download-chunks.txt
expect_eq "the plan has four chunks a file" "$(cut -d' ' -f1 download-chunks.txt | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" "4 4 4 "
(cd dl && run_mpw -c ../download.ini && echo "$rc" > rc)
expect_eq "downloads: exit 0" "$(cat dl/rc)" 0
for f in one.bin two.bin three.bin; do
	check "$f is whole and the same as the server's" cmp -s srv/$f dl/$f
done
check "no chunk is left" test -z "$(find dl -name '*.part*')"

# A file whose chunks fail is not assembled, and says which chunk; the
# others are.  --resume-failed fetches what was missing and joins it.
rm -rf dl && mkdir dl
mv srv/two.bin srv/two.bin.away
(cd dl && run_mpw -c ../download.ini -o pool.retries=0 && echo "$rc" > rc && cp err ../dl.err)
expect_eq "a file gone from the server: exit 1" "$(cat dl/rc)" 1
check "it is not assembled" test ! -e dl/two.bin
expect_grep "its step says which chunk failed" "group two.bin: job [5-8] failed" dl.err
check "the others are" cmp -s srv/one.bin dl/one.bin
mv srv/two.bin.away srv/two.bin
(cd dl && run_mpw -c ../download.ini --resume-failed && echo "$rc" > rc)
expect_eq "--resume-failed: exit 0" "$(cat dl/rc)" 0
check "two.bin is whole now" cmp -s srv/two.bin dl/two.bin
expect_eq "only its four chunks ran again, and its step" "$(awk -F'\t' 'NR > 1' download.joblog | wc -l)" $((12 + 3 + 4 + 1))

# python3 -m http.server ignores ranges: every chunk would be the whole
# file.  The jobs' length check fails them; nothing is assembled.
python3 -m http.server --bind 127.0.0.1 0 --directory srv > plain.out 2>&1 &
wait_for 10 grep -qs 'port [0-9]' plain.out || fail "http.server did not start"
purl=http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\).*/\1/p' plain.out | head -1)
sed "s|$url|$purl|" download-chunks.txt > plain-chunks.txt
rm -rf dl && mkdir dl
(cd dl && run_mpw -c ../download.ini -o jobs.file=../plain-chunks.txt -o pool.retries=0 -o pool.joblog=plain.joblog && echo "$rc" > rc)
expect_eq "a server that ignores ranges: exit 1" "$(cat dl/rc)" 1
check "no file is assembled from whole-file chunks" test -z "$(find dl -name '*.bin')"

# Map-reduce word count: the reduce (finally) equals counting directly.
mkdir -p wc/texts
for i in $(seq 1 30); do
	awk -v seed="$i" 'BEGIN { srand(seed); split("alpha beta gamma it'"'"'s x-y 0 1 2 3 4 5 6 7 8 9", w, " ");
		for (l = 0; l < 100; l++) { n = 1 + int(rand() * 10); s = "";
			for (k = 0; k < n; k++) s = s (k ? " " : "") w[1 + int(rand() * 15)]; print s } }' > "wc/texts/file $i.txt"
done
cp "$SRCDIR"/etc/examples/wordcount.ini wc/
ls "$T"/wc/texts/*.txt > wc/wordcount-files.txt
(cd wc && run_mpw -c wordcount.ini && echo "$rc" > rc)
expect_eq "word count: exit 0" "$(cat wc/rc)" 0
(cd wc/texts && cat * | tr -s ' ' '\n' | LC_ALL=C sort | uniq -c | awk '{ print $1, $2 }') > wc/direct.txt
check "the reduce equals cat | tr | sort | uniq -c" cmp -s wc/direct.txt wc/wordcount.txt
expect_eq "one map per file, then one reduce" "$(awk -F'\t' 'NR > 1 && $7 == 0' wc/wordcount.joblog | wc -l)" 31

finish
