# Rename jobs under attack, on SQLite: a retry that would claim an
# unrelated file, a directory swapped for a link mid-run, tampered undo
# records, names with control characters, links moved into a watched
# directory.  No file may be renamed that the run did not mean to rename.
. "$SRCDIR/tests/lib.sh"
DRIVER=sqlite
. "$SRCDIR/tests/dblib.sh"

q "CREATE TABLE m (old_name TEXT PRIMARY KEY, new_name TEXT)"
conf() {	# conf FILE EXTRA...: a rename config with the test database
	local f=$1
	shift
	{ printf '[pool]\nworkers = 1\njoblog = %s.joblog\n[jobs]\ntype = rename\n[rename]\n' "${f%.ini}"
	  case "$*" in *"lookup ="*) ;; *) printf 'lookup = SELECT new_name FROM m WHERE old_name = ?\n' ;; esac
	  for l in "$@"; do echo "$l"; done
	  db_section; } > "$f"
}

# A retry of a file that never existed is a failure, not a rename that
# "happened before" because some unrelated file has the mapped name.
mkdir d
echo precious > d/precious.dat
q "INSERT INTO m VALUES ('gone.dat', 'precious.dat')"
conf gone.ini "[pool]" "retries = 1" "[jobs]" "job = d/gone.dat"
run_mpw -c gone.ini
expect_eq "a file that never existed fails, retries or not" "$rc" 1
expect_no_grep "no rename is recorded for it" "mv -n --" gone.joblog
run_mpw --undo gone.joblog
check "and --undo leaves the unrelated file alone" test -e d/precious.dat

# Listed jobs must be regular files: not a directory, not a link.
mkdir -p l/sub.dat
ln -s precious.dat l/link.dat
q "INSERT INTO m VALUES ('sub.dat', 'moved.dat'), ('link.dat', 'moved2.dat')"
conf listed.ini "[jobs]" "job = l/sub.dat" "job = l/link.dat"
run_mpw -c listed.ini
expect_eq "a listed directory or link is a failed job" "$rc" 1
expect_grep "the directory: not a regular file" "l/sub.dat: not a regular file \\(a directory\\)" err
expect_grep "the link: not a regular file" "l/link.dat: not a regular file \\(a symbolic link\\)" err
check "neither was renamed" test -d l/sub.dat -a -L l/link.dat

# A scanned subdirectory swapped for a link to elsewhere after the
# listing: the renames left in it fail; nothing elsewhere is touched.
mkdir -p in/sub elsewhere
for i in $(seq 1 40); do echo "s$i" > "in/sub/s$i.dat"; echo "e$i" > "elsewhere/s$i.dat"; done
q "INSERT INTO m SELECT 's' || value || '.dat', 'S' || value || '.dat' FROM generate_series(1, 40)" 2>/dev/null ||
	for i in $(seq 1 40); do q "INSERT INTO m VALUES ('s$i.dat', 'S$i.dat')"; done
# A lookup that takes a while, so the swap comes mid-run.
slow="lookup = SELECT new_name FROM m WHERE old_name = ? AND (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c) > 0"
conf swap.ini "directory = in" "extensions = .dat" "recursive = yes" "$slow"
"$MPWORKER" --no-progress -c swap.ini >out 2>err &
mpw=$!
wait_for 20 ok_at_least 2 swap.joblog || fail "the renames did not start"
mv in/sub in/sub.real
ln -s ../elsewhere in/sub
wait $mpw; rc=$?
expect_eq "the swap fails the jobs left" "$rc" 1
expect_grep "they say why" "cannot open its directory: a directory on its path is now a symbolic link" err
expect_eq "nothing in the other directory was renamed" "$(ls elsewhere | grep -c '^S')" 0
expect_eq "and what was done before the swap is in place" \
	"$(ls in/sub.real | grep -c '^S')" "$(joblog_ok swap.joblog | wc -l)"

# A name with a carriage return (or any control byte) goes through the
# joblog and back: --undo restores it exactly.
mkdir cr
name=$(printf 'a\rb.dat')
echo cr > "cr/$name"
q "INSERT INTO m VALUES ('a' || char(13) || 'b.dat', 'ab.dat')"
conf cr.ini "directory = cr" "extensions = .dat"
run_mpw -c cr.ini
expect_eq "a name with a CR is renamed" "$rc" 0
check "to its new name" test -e cr/ab.dat
expect_grep "the joblog holds it quoted, one line, absolute" "mv -n -- \\$'$T/cr/a\\\\015b\\.dat' $T/cr/ab\\.dat" cr.joblog
run_mpw --undo cr.joblog
expect_eq "--undo exits 0" "$rc" 0
check "and the old name comes back, byte for byte" test -e "cr/$name"

# A tampered joblog: records that break the rename rules are refused, and
# then nothing at all is renamed.
mkdir t
echo a > t/new.dat
echo p > t/keep.dat
hdr=$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')
for bad in "mv -n -- t/old.dat /tmp/x.dat" "mv -n -- t/old.dat t/.." "mv -n -- /etc/old t/keep.dat" \
	"mv -n -- t/old.dat t/x\$'\\001'" "mv -n -- 't/old.dat t/keep.dat"; do
	{ echo "$hdr"; printf '1\t:\t0\t0\t0\t0\t0\t0\tmv -n -- t/orig.dat t/new.dat\n'
	  printf '2\t:\t0\t0\t0\t0\t0\t0\t%s\n' "$bad"; } > tam.joblog
	run_mpw --undo tam.joblog
	expect_eq "undo refuses '$bad' with exit 2" "$rc" 2
	expect_grep "naming its line" "tam.joblog:3: refused" err
	check "and renames nothing ('$bad')" test -e t/new.dat -a -e t/keep.dat -a ! -e t/orig.dat
done

# watch: a symbolic link moved into the directory is not renamed, as the
# scan passes over links.
mkdir w
q "INSERT INTO m VALUES ('lnk.dat', 'L.dat'), ('real.dat', 'R.dat')"
conf watch.ini "directory = w" "extensions = .dat" "watch = yes" "on_missing = fail"
"$MPWORKER" --service -c watch.ini >out 2>err &
svc=$!
sleep 0.5
ln -s /etc/hostname lnk.dat
mv lnk.dat w/
echo r > w/real.dat
check "a file that arrives is renamed" wait_for 10 test -e w/R.dat
sleep 0.5
check "a link that arrives is not" test -L w/lnk.dat -a ! -e w/L.dat
kill -TERM $svc
wait $svc
expect_no_grep "and is not a failure" "job [0-9]+ failed" err

finish
