# Rename jobs against a real database; run through rename_DRIVER.sh.
. "$SRCDIR/tests/lib.sh"
. "$SRCDIR/tests/dblib.sh"

case $DRIVER in
postgresql) param='$1' ;;
*) param='?' ;;
esac
M=m_$$
q "CREATE TABLE $M (old_name VARCHAR(200) PRIMARY KEY, new_name VARCHAR(200))" || fail "cannot create the mapping table"

# load_map FILE: old<TAB>new lines ("\N" for NULL) into the mapping table.
load_map() {
	q "DELETE FROM $M"
	awk -F'\t' -v t="$M" -v my="$([ "$DRIVER" = mysql ] && echo 1)" '{
		null = $2 == "\\N"
		gsub(/'\''/, "'\'''\''", $1); gsub(/'\''/, "'\'''\''", $2)
		if (my) { gsub(/\\/, "&&", $1); gsub(/\\/, "&&", $2) }	# MySQL reads \ in a literal as an escape
		nv = null ? "NULL" : "'\''" $2 "'\''"
		printf "INSERT INTO %s VALUES ('\''%s'\'', %s);\n", t, $1, nv
	}' "$1" > map.sql
	case $DRIVER in
	postgresql) psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw -v ON_ERROR_STOP=1 -f map.sql ;;
	mysql) mariadb --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass mpw < map.sql ;;
	sqlite) { echo "BEGIN;"; cat map.sql; echo "COMMIT;"; } | sqlite3 "$T/test.db" ;;
	esac
}

# ini FILE WORKERS EXTRA...: a rename config for the directory "in".
ini() {
	local f=$1 w=$2
	shift 2
	{ printf '[pool]\nworkers = %s\nretries = %s\njoblog = %s.joblog\n[jobs]\ntype = rename\n' "$w" "${RETRIES:-0}" "${f%.ini}"
	  printf '[rename]\ndirectory = in\nextensions = .dat, .csv\nlookup = SELECT new_name FROM %s WHERE old_name = %s%s\n' "$M" "$param" "${LOOKUP_AND:+ AND $LOOKUP_AND}"
	  for l in "$@"; do echo "$l"; done
	  db_section; } > "$f"
}

# Each file holds its original name, so where every file went can be checked.
make_files() {	# make_files N: in/f1.dat ... with mixed extensions
	rm -rf in
	mkdir in
	(cd in && seq 1 "$1" | awk '{ e = ($1 % 4 == 0) ? "txt" : ($1 % 4 == 1) ? "csv" : "dat"; printf "f%d.%s\n", $1, e }' |
		while read -r n; do echo "$n" > "$n"; done)
}

# 20,000 files of mixed extensions; a mapping for most, including .txt
# files, which must stay as they are.
make_files 20000
ls in | awk '{ split($0, p, "."); if (substr(p[1], 2) % 10 != 3) printf "%s\tg%s.%s\n", $0, substr(p[1], 2), p[2] }' > map.tsv
load_map map.tsv
ini big.ini 4
run_mpw -c big.ini
expect_eq "20,000 files: exit 0" "$rc" 0
# What must be there now: mapped .dat/.csv under their new names, the rest as they were.
awk -F'\t' '{ m[$1] = $2 } END { for (i = 1; i <= 20000; i++) {
	e = (i % 4 == 0) ? "txt" : (i % 4 == 1) ? "csv" : "dat"; n = "f" i "." e
	print ((n in m) && e != "txt") ? m[n] : n } }' map.tsv | sort > want
ls in | sort > got
expect_eq "exactly the mapped .dat and .csv files were renamed" "$(comm -3 want got | wc -l)" 0
expect_eq "and nothing else changed" "$(wc -l < got)" 20000
expect_eq "every file still holds its own content" \
	"$(cd in && grep -L . ./* | wc -l)" 0
expect_grep "the report counts the unmapped ones as skipped" "15000 jobs: [0-9]+ succeeded, 0 failed.* [0-9]+ had nothing to do \(no mapping\)" err
expect_eq "the joblog records old and new name" "$(grep -c "	mv -n -- $T/in/f[0-9]*\.\(dat\|csv\) $T/in/g[0-9]*\.\(dat\|csv\)$" big.joblog)" \
	"$(awk -F'\t' '$1 !~ /txt$/' map.tsv | wc -l)"

# --undo restores every original name.
"$MPWORKER" --undo big.joblog >out 2>err; rc=$?
expect_eq "--undo exits 0" "$rc" 0
expect_eq "every original name is back" "$(ls in | sort | md5sum)" "$(cd in && for f in *; do cat "$f"; done | sort | md5sum)"
expect_eq "with all 20,000 files" "$(ls in | wc -l)" 20000

# Names that try to leave the directory, taken targets, two files to one name.
make_files 12
echo precious > in/taken.dat
printf 'f1.csv\t../escaped.csv\nf2.dat\tsub/inner.dat\nf3.dat\t..\nf5.csv\t.\nf6.dat\tbad\001name\nf7.dat\ttaken.dat\nf9.csv\tsame.csv\nf10.dat\tsame.csv\nf11.dat\t\\N\n' > map.tsv
load_map map.tsv
ini safe.ini 2
run_mpw -c safe.ini
expect_eq "unsafe names and conflicts make exit 1" "$rc" 1
check "nothing escaped the directory" test ! -e escaped.csv -a ! -e in/sub
expect_grep "a name with '/' is refused" "unsafe new name, it contains '/': refused to rename ./in/f1.csv" err
expect_grep "so are . and .." "unsafe new name, it is \. or \.\.: refused to rename ./in/f3.dat" err
expect_grep "and control characters" "unsafe new name, it contains a control character" err
expect_eq "a taken name is refused and the file there kept" "$(cat in/taken.dat) $(cat in/f7.dat)" "precious f7.dat"
expect_grep "saying the target exists" "f7.dat -> ./in/taken.dat: the target exists; nothing was replaced" err
expect_eq "two files to one name: one wins" "$(ls in | grep -c '^same.csv$')" 1
expect_eq "the other is still there" "$( (test -e in/f9.csv && echo 9; test -e in/f10.dat && echo 10) | wc -l)" 1
expect_grep "and its failure says why" "-> ./in/same.csv: the target exists; nothing was replaced" err
expect_eq "no file was lost" "$(ls in | wc -l)" 13
expect_eq "the six refused and the loser of the pair are failed jobs in the joblog" \
	"$(awk -F'\t' 'NR > 1 && $7 != 0' safe.joblog | wc -l)" 7

# on_missing: skip (the default) passes over unmapped files; fail fails them.
make_files 8
printf 'f2.dat\tg2.dat\n' > map.tsv
load_map map.tsv
ini skip.ini 2
run_mpw -c skip.ini
expect_eq "on_missing = skip exits 0" "$rc" 0
expect_grep "skipped files are counted as such" "1 succeeded, 0 failed.*; 5 had nothing to do" err
ini failm.ini 2 "on_missing = fail"
mv in/g2.dat in/f2.dat
run_mpw -c failm.ini
expect_eq "on_missing = fail exits 1" "$rc" 1
expect_grep "naming the file" "job [0-9]+ failed: ./in/f3.dat: no mapping" err
expect_eq "the mapped one is still renamed" "$(ls in | grep -c '^g2.dat$')" 1

# Paths from [jobs] instead of a directory scan, one of them gone by its turn.
rm -rf in other
mkdir in other
echo p1.dat > in/p1.dat
echo p2.txt > other/p2.txt
printf 'p1.dat\tP1.dat\np2.txt\tP2.txt\ngone.dat\tG.dat\n' > map.tsv
load_map map.tsv
{ printf '[pool]\nworkers = 2\njoblog = paths.joblog\n[jobs]\ntype = rename\njob = in/p1.dat\njob = %s/other/p2.txt\njob = in/gone.dat\n' "$T"
  printf '[rename]\nlookup = SELECT new_name FROM %s WHERE old_name = %s\n' "$M" "$param"
  db_section; } > paths.ini
run_mpw -c paths.ini
expect_eq "listed paths: the vanished one makes exit 1" "$rc" 1
check "a listed path is renamed in its own directory" test -e in/P1.dat
check "whatever its extension, and wherever it is" test -e other/P2.txt
expect_grep "a file that is gone is a failed job that says so" "in/gone.dat: no such file \(it vanished\?\)" err

# --dry-run shows the plan and changes nothing.
make_files 8
echo x > in/taken.csv
printf 'f1.csv\ttaken.csv\nf2.dat\tg2.dat\nf5.csv\ttwin.csv\nf6.dat\ttwin.csv\n' > map.tsv
load_map map.tsv
ls in > before
run_mpw -c skip.ini --dry-run
expect_eq "a dry run that foresees conflicts exits 1" "$rc" 1
expect_grep "it shows old -> new" "^./in/f2.dat -> ./in/g2.dat$" out
expect_grep "and the conflicts it can see" "^./in/f1.csv -> ./in/taken.csv \(conflict: the target exists\)$" out
expect_grep "and two files planned onto one name" "^./in/f[56]\.(csv|dat) -> ./in/twin.csv \(conflict: another file is planned onto this name\)$" out
expect_eq "one line per file" "$(cut -d" " -f1 out | sort | uniq -d | wc -l) $(wc -l < out)" "0 7"
expect_grep "the conflicts are failures in the report" "7 jobs: 2 succeeded, 2 failed" err
expect_eq "it changes nothing" "$(ls in)" "$(cat before)"

# A worker killed mid-run: every file ends up under exactly one of its names.
make_files 3000
ls in | awk '{ split($0, p, "."); printf "%s\th%s.%s\n", $0, substr(p[1], 2), p[2] }' > map.tsv
load_map map.tsv
# Lookups of about a millisecond, so that the run is still going at the kill.
case $DRIVER in
postgresql) slow="pg_sleep(0.001) IS NOT NULL" ;;
mysql) slow="SLEEP(0.001) = 0" ;;
sqlite) slow="(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT count(*) FROM c) > 0" ;;
esac
LOOKUP_AND=$slow RETRIES=2 ini kill.ini 3
"$MPWORKER" -c kill.ini --no-progress >out 2>err &
mpw=$!
wait_for 20 ok_at_least 300 kill.joblog || fail "renames did not start"
victim=$(pgrep -P $mpw | head -1)
check "a worker is there to kill" test -n "$victim"
kill -9 $victim
wait $mpw; rc=$?
expect_eq "a killed worker does not fail the run" "$rc" 0
expect_eq "all 3000 files are there" "$(ls in | wc -l)" 3000
# in/NAME:CONTENT for every file; CONTENT is the original name.
(cd in && grep -H . ./*) | sed 's|^\./||' > where
expect_eq "each under its old or its new name" \
	"$(awk -F'\t' 'NR == FNR { m[$1] = $2; next } { split($0, p, ":"); if (p[1] != p[2] && p[1] != m[p[2]]) bad++ } END { print bad + 0 }' map.tsv where)" 0
expect_eq "and every .dat/.csv one renamed" "$(ls in | grep -c '^f.*\.\(dat\|csv\)$')" 0

# Names that are quotes, backslashes and SQL, looked up many at a time
# (one pipeline on PostgreSQL, one multi-statement query on MySQL): each
# is data, never SQL, and a lookup that fails fails its own file alone.
rm -rf in
mkdir in
{ printf '%s\n' "it's.dat" 'back\slash.dat' 'dq".dat' "x'; DROP TABLE $M; --.dat" '%_.dat' \
	"$(printf '\303\274 \303\261.dat')" '$1.dat' 'boom.dat' "a\\'b.dat"; seq 1 200 | sed 's/.*/f&.dat/'; } > names
while IFS= read -r n; do echo "$n" > "in/$n"; done < names
awk '{ printf "%s\tn%d.dat\n", $0, NR }' names > map.tsv
load_map map.tsv
case $DRIVER in
postgresql) boom="1 / (CASE WHEN \$1 = 'boom.dat' THEN 0 ELSE 1 END) = 1" ;;
mysql) boom="(CASE WHEN \$1 = 'boom.dat' THEN (SELECT 1 UNION ALL SELECT 2) ELSE 1 END) = 1" ;;
sqlite) boom="(CASE WHEN \$1 = 'boom.dat' THEN abs(-9223372036854775807 - 1) ELSE 1 END) = 1" ;;
esac
{ printf '[pool]\nworkers = 1\njoblog = hostile.joblog\n[jobs]\ntype = rename\n[rename]\ndirectory = in\nextensions = .dat\n'
  printf 'lookup = SELECT new_name FROM %s WHERE old_name = $1 AND %s\n' "$M" "$boom"; db_section; } > hostile.ini
"$MPWORKER" --no-progress -v -c hostile.ini >out 2>err; rc=$?
expect_eq "hostile names: the failing lookup makes exit 1" "$rc" 1
expect_eq "every other file has its new name" "$(ls in | grep -c '^n[0-9]*\.dat$')" 208
expect_eq "the file whose lookup failed is as it was" "$(ls in | grep -v '^n[0-9]*\.dat$')" boom.dat
expect_eq "each holds its own content" "$(cd in && for f in n*.dat; do printf '%s\t%s\n' "$f" "$(cat "$f")"; done | sort)" \
	"$(awk '$0 != "boom.dat" { printf "n%d.dat\t%s\n", NR, $0 }' names | sort)"
expect_grep "the failed lookup says why" "job [0-9]+ failed: lookup failed: .*(division by zero|more than 1 row|integer overflow).*: \./in/boom\.dat$" err
expect_eq "and the mapping table is still there" "$(q "SELECT count(*) FROM $M")" 209
if [ "$DRIVER" != sqlite ]; then
	biggest=$(sed -n 's/.*running \([0-9]*\) jobs as a group/\1/p' err | sort -n | tail -1)
	check "the lookups went many at a time (largest group: $biggest)" test "${biggest:-0}" -ge 16
fi

# --resume after an interrupted scan: the new listing holds the renamed
# files under their new names and numbers the rest differently.  Jobs are
# known by name: every file left is renamed, and none renamed before is
# looked up again (g*.dat would become h*.dat).
make_files 60
rm -f in/*.txt
ls in | awk '{ split($0, p, "."); n = substr(p[1], 2); printf "%s\tg%s.%s\ng%s.%s\th%s.%s\n", $0, n, p[2], n, p[2], n, p[2] }' > map.tsv
load_map map.tsv
case $DRIVER in
postgresql) slow="pg_sleep(0.03) IS NOT NULL" ;;
mysql) slow="SLEEP(0.03) = 0" ;;
sqlite) slow="(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000) SELECT count(*) FROM c) > 0" ;;
esac
LOOKUP_AND=$slow ini res.ini 2
"$MPWORKER" -c res.ini --no-progress >out 2>err &
mpw=$!
wait_for 20 ok_at_least 12 res.joblog || fail "renames did not start"
kill -INT $mpw
wait $mpw; rc=$?
expect_eq "interrupted rename run exits 4" "$rc" 4
done_before=$(grep -c '	mv -n -- ' res.joblog)
check "some files were renamed before the stop ($done_before), not all" test "$done_before" -gt 0 -a "$done_before" -lt 45
run_mpw -c res.ini --resume
expect_eq "--resume exits 0" "$rc" 0
expect_eq "every file has exactly its first new name" "$(ls in | grep -c '^g[0-9]*\.\(dat\|csv\)$') $(ls in | wc -l)" "45 45"
expect_eq "each file renamed once in the joblog" "$(grep -c '	mv -n -- ' res.joblog)" 45
expect_grep "the report counts the ones passed over" "skipped \(already in the joblog\)" err
expect_eq "the joblog records absolute paths" "$(grep '	mv -n -- ' res.joblog | grep -vc "	mv -n -- '*$T/in/[fg]")" 0
(cd / && "$MPWORKER" --undo "$T/res.joblog") >out 2>err
expect_eq "--undo from another directory exits 0" "$?" 0
expect_eq "and puts every name back, for both runs" "$(ls in | grep -c '^f[0-9]*\.\(dat\|csv\)$')" 45
# Running the config again would start the joblog over and lose the
# record --undo needs: refused, unless --force.
lines=$(wc -l < res.joblog)
run_mpw -c res.ini
expect_eq "a rename run over a joblog of renames exits 2" "$rc" 2
expect_grep "saying what to do" "records 45 renames, which --undo needs: continue with --resume, .* or start it over with --force" err
expect_eq "the joblog is untouched" "$(wc -l < res.joblog)" "$lines"
expect_eq "and nothing was renamed" "$(ls in | grep -c '^f[0-9]*\.\(dat\|csv\)$')" 45
LOOKUP_AND= ini res.ini 2
run_mpw -c res.ini --force
expect_eq "with --force it starts over: exit 0" "$rc" 0
expect_eq "and records this run only" "$(grep -c '	mv -n -- ' res.joblog)" 45

# watch: in service mode, files that arrive are renamed; our own renames
# are not taken for arrivals, even with on_missing = fail.
rm -rf in
mkdir in
echo w1.dat > in/w1.dat
printf 'w1.dat\tW1.dat\nw2.dat\tW2.dat\nw3.csv\tW3.csv\n' > map.tsv
load_map map.tsv
ini watch.ini 2 "watch = yes" "on_missing = fail"
"$MPWORKER" --service -c watch.ini >out 2>err &
svc=$!
check "watch: a file there at the start is renamed" wait_for 10 test -e in/W1.dat
echo w2.dat > in/w2.dat
echo w3.csv > w3.csv.tmp
mv w3.csv.tmp in/w3.csv
echo w4.txt > in/w4.txt
check "watch: a file written into the directory is renamed" wait_for 10 test -e in/W2.dat
check "watch: a file moved into it too" wait_for 10 test -e in/W3.csv
sleep 1
check "watch: other extensions are left alone" test -e in/w4.txt
kill -TERM $svc
wait $svc; rc=$?
expect_eq "watch: the service stops with exit 0" "$rc" 0
expect_no_grep "watch: our own renames were not taken for arrivals" "job [0-9]+ failed" err
expect_eq "watch: three renames in the joblog" "$(grep -c '	mv -n -- ' watch.joblog)" 3

q "DROP TABLE $M"
finish
