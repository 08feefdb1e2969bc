# Resource limits: too few descriptors for the workers asked for, and far
# more workers than cores.  A clear error or success, never a hang, and
# no flood of messages.
. "$SRCDIR/tests/lib.sh"

seq 1 3000 > jobs.txt
printf '[pool]\njoblog = j.joblog\n[jobs]\nfile = jobs.txt\n[command]\ntemplate = echo {1}\n' > c.ini

# 64 descriptors, 16 workers: they fit.
(ulimit -n 64; exec "$MPWORKER" --no-progress -c c.ini -j 16 >out 2>err)
expect_eq "ulimit -n 64 with 16 workers: exit 0" "$?" 0
expect_eq "every job ran" "$(sort -nu out | wc -l)" 3000

# 64 descriptors, 1,000 workers: those that fit run every job, the others
# are given up, each said once.
(ulimit -n 64; exec "$MPWORKER" --no-progress -c c.ini -j 1000 >out 2>err)
expect_eq "ulimit -n 64 with 1,000 workers: exit 0" "$?" 0
expect_eq "every job ran" "$(sort -nu out | wc -l)" 3000
expect_grep "the shortage is said" "cannot start: pipe: Too many open files; retrying" err
check "once, not for every worker ($(wc -l < err) lines)" test "$(wc -l < err)" -le 4

# Too few descriptors for any worker: exit 3 with the reason, at once.
(ulimit -n 6; exec timeout 60 "$MPWORKER" --no-progress -c c.ini -j 4 >out 2>err)
expect_eq "ulimit -n 6: no worker can start, exit 3" "$?" 3
expect_grep "saying why" "no worker could start" err

# 1,000 workers on 2 cores, with database connections: all of them work.
printf '[pool]\nworkers = 1000\n[jobs]\ntype = sql\nfile = s.sql\n[database]\ndriver = sqlite\npath = s.db\ncreate = yes\n' > s.ini
seq 1 3000 | sed 's/.*/SELECT &/' > s.sql
timeout 120 "$MPWORKER" --no-progress -c s.ini >out 2>err
expect_eq "1,000 SQLite workers: exit 0" "$?" 0
expect_eq "every job's row came back" "$(sort -nu out | wc -l)" 3000

finish
