# Fan-in: [jobs] group, then and finally.  A group's step runs once,
# after all of its jobs succeeded; a failed job holds its group's step
# back and says which job; finally runs once when everything succeeded;
# --resume neither repeats a finished step nor skips one whose jobs
# finished in an earlier run.
. "$SRCDIR/tests/lib.sh"

# Jobs append "group n" to done.log; job.sh fails for "b 2" until fixed exists.
cat > job.sh <<'SH'
#!/bin/sh
[ "$1$2" = b2 ] && [ ! -e fixed ] && { echo "b 2 is broken" >&2; exit 1; }
echo "$1 $2" >> done.log
SH
# A step records its group and how many of the group's jobs it found done.
cat > step.sh <<'SH'
#!/bin/sh
echo "start $1" >> starts.log
[ -e "slow-$1" ] && sleep 3
echo "$1 $(grep -c "^$1 " done.log)" >> steps.log
SH
printf '#!/bin/sh\necho "final $(wc -l < steps.log)" >> final.log\n' > fin.sh
chmod +x job.sh step.sh fin.sh
printf 'a 1\nb 1\na 2\nc 1\nb 2\na 3\n' > jobs.txt
cat > g.ini <<'INI'
[pool]
workers = 2
joblog = g.joblog
[jobs]
file = jobs.txt
group = {1}
then = ./step.sh {group}
finally = ./fin.sh
[command]
template = ./job.sh {1} {2}
INI

# All jobs succeed: each step once, after all of its group's jobs.
touch fixed
run_mpw -c g.ini
expect_eq "groups: exit 0" "$rc" 0
expect_eq "each group's step ran once, after every job of the group" "$(sort steps.log | tr '\n' ,)" "a 3,b 2,c 1,"
expect_eq "finally ran once, after every step" "$(cat final.log)" "final 3"
expect_eq "steps are in the joblog after the jobs (7-9), finally last (10)" \
	"$(joblog_ok g.joblog | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 "
expect_eq "the joblog names each step's command" "$(joblog_field g.joblog 8 9)" "./step.sh b"
expect_grep "the report counts the groups" "3 groups: 3 steps done, 0 not" err

# A job fails: its group's step does not run, and says which job; the
# other groups' steps do; finally does not.
rm -f fixed done.log steps.log final.log starts.log
run_mpw -c g.ini
expect_eq "a failed job: exit 1" "$rc" 1
expect_eq "the other groups' steps ran" "$(sort steps.log | tr '\n' ,)" "a 3,c 1,"
expect_grep "the held step says which job failed" "step 8 failed: group b: job 5 failed \(1 of 2\); its step is not run" err
expect_eq "the joblog records b's step as not run" "$(joblog_field g.joblog 8 7)" 255
check "finally did not run" test ! -e final.log
expect_grep "and says why" "finally step 10 failed: not every job and step succeeded" err

# --resume: failed jobs are done too, so nothing runs again.
run_mpw -c g.ini --resume
expect_eq "--resume after the failure runs nothing: exit 0" "$rc" 0
expect_eq "no step ran again" "$(sort steps.log | tr '\n' ,)" "a 3,c 1,"
check "nor finally" test ! -e final.log

# --resume-failed once the job is fixed: the job, its group's step and
# finally run; the steps that succeeded before do not run again.
touch fixed
run_mpw -c g.ini --resume-failed
expect_eq "--resume-failed: exit 0" "$rc" 0
expect_eq "b's job ran again" "$(grep -c '^b 2$' done.log)" 1
expect_eq "b's step ran, a's and c's did not run again" "$(sort steps.log | tr '\n' ,)" "a 3,b 2,c 1,"
expect_eq "finally ran" "$(cat final.log)" "final 3"

# Killed while a step runs: a's step is done, b's and c's are under way
# (three workers, so that a's need not wait for theirs).
# --resume runs no job again, runs b's and c's steps, and not a's.
rm -f done.log steps.log final.log starts.log g.joblog
touch slow-b slow-c
setsid "$MPWORKER" --no-progress -c g.ini -j 3 >out 2>err &
pid=$!
wait_for 20 grep -qs '^a 3$' steps.log
wait_for 20 grep -qs 'start [bc]' starts.log
kill -9 -- -"$pid"
wait "$pid" 2>/dev/null
check "killed while b's or c's step ran" test ! -e final.log
rm -f slow-b slow-c
run_mpw -c g.ini --resume
expect_eq "--resume after the kill: exit 0" "$rc" 0
expect_eq "no job ran twice" "$(sort done.log | uniq -d | wc -l) $(wc -l < done.log)" "0 6"
expect_eq "a's step ran once; b's and c's ran now, once each" "$(sort steps.log | tr '\n' ,)" "a 3,b 2,c 1,"
expect_eq "finally ran once" "$(cat final.log)" "final 3"

# Jobs that all finished in an earlier run still get their step when
# only the steps failed there.
rm -f done.log steps.log final.log
"$MPWORKER" --no-progress -c g.ini -o jobs.then='false {group}' -o jobs.finally=false >/dev/null 2>&1
run_mpw -c g.ini --resume-failed
expect_eq "steps of jobs done earlier: exit 0" "$rc" 0
expect_eq "no job ran again" "$(wc -l < done.log)" 6
expect_eq "every step ran" "$(sort steps.log | tr '\n' ,)" "a 3,b 2,c 1,"

# A retried job counts once it succeeds.
rm -f done.log steps.log final.log fixed g.joblog
printf '#!/bin/sh\n[ -e fixed ] || { touch fixed; exit 1; }\n' > fixer.sh
chmod +x fixer.sh
run_mpw -c g.ini -o pool.retries=1 -o command.template='./fixer.sh && ./job.sh {1} {2}' -o pool.workers=1
expect_eq "a job retried into success: exit 0" "$rc" 0
expect_eq "its group's step ran" "$(sort steps.log | tr '\n' ,)" "a 3,b 2,c 1,"

# keep_order: jobs' output in input order, then the steps' in theirs.
printf 'x 1\ny 1\nx 2\n' > k.txt
run_mpw -k -j 3 -o jobs.file=k.txt -o jobs.group='{1}' -o jobs.then='echo step {group}' \
	-o command.template='sleep 0.{2}; echo {1}{2}'
expect_eq "keep_order with groups: exit 0" "$rc" 0
expect_eq "output in input order, steps after" "$(tr '\n' ,  < out)" "x1,y1,x2,step x,step y,"

# SQL steps: {group} is a string literal, quotes and all.
sqlite3 t.db "CREATE TABLE t (g text, n int); CREATE TABLE fin (s text)"
printf "a\t1\nit's\t2\na\t3\n" > v.txt
cat > s.ini <<'INI'
[pool]
workers = 2
[database]
driver = sqlite
path = t.db
[jobs]
type = sql
file = v.txt
group = {1}
then = INSERT INTO fin SELECT {group} || ':' || count(*) FROM t WHERE g = {group}
finally = INSERT INTO fin SELECT 'all:' || count(*) FROM t
[sql]
statement = INSERT INTO t VALUES ($1, $2)
INI
run_mpw -c s.ini
expect_eq "SQL steps: exit 0" "$rc" 0
expect_eq "each group's statement saw its rows; finally saw all" \
	"$(sqlite3 t.db 'SELECT s FROM fin ORDER BY s' | tr '\n' ,)" "a:2,all:3,it's:1,"

# A hostile key is data to the step, never shell syntax; a step too long
# to send with its key fails with a clear message instead of running cut.
printf '%s 1\n' '$(touch${IFS}pwned);x' "a'b" > h.txt
head -c 120000 /dev/zero | tr '\0' k > big.key
printf ' 1\n' >> big.key
cat big.key >> h.txt
run_mpw -o jobs.file=h.txt -o command.template='true {1}' -o jobs.group='{1}' \
	-o jobs.then="echo step {group} {group} | cut -c1-20 $(printf '# {group} %.0s' 1 2 3 4 5 6 7 8 9)"
expect_eq "hostile and huge keys: exit 1 (the huge one)" "$rc" 1
check "no key ran as a command" test ! -e pwned
expect_grep "a quote in a key is data" "^step a'b a'b" out
expect_grep "the key with \$( is data too" '^step \$\(touch' out
expect_grep "the huge step says why it did not run" "with its group's key, is longer than [0-9]+ bytes; not run" err

# What cannot work is refused at load, before anything runs.
run_mpw -o jobs.file=jobs.txt -o jobs.then='echo {group}'
check "then without group is refused" test "$rc" -ne 0
expect_grep "and says what to give" "then runs once per group: give \[jobs\] group" err
mkdir d
run_mpw -o jobs.type=rename -o rename.directory=d -o database.driver=sqlite -o database.path=t.db \
	-o rename.lookup='SELECT 1' -o jobs.group='{1}' -o jobs.finally=true
check "rename jobs have no steps" test "$rc" -ne 0
expect_grep "and says so" "steps are commands or SQL: rename jobs have none" err
run_mpw -o jobs.file=jobs.txt -o jobs.group='{1}' -o jobs.then="echo '{group}'"
check "a step's placeholder the shell would not read as one word is refused" test "$rc" -ne 0
expect_grep "and says where" "\[jobs\] then: " err

finish
