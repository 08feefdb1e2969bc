# max_jobs_per_worker recycles workers; every job still runs once.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 2
max_jobs_per_worker = 3
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
template = echo "$PPID {1}"
INI
seq 1 12 > jobs.txt
run_mpw -c c.ini
expect_eq "exit 0" "$rc" 0
expect_eq "all 12 jobs ran once" "$(awk '{print $2}' out | sort -n | tr '\n' ' ')" "$(seq 1 12 | tr '\n' ' ')"
expect_eq "no worker ran more than 3" "$(awk '{print $1}' out | sort | uniq -c | awk '$1 > 3' | wc -l)" 0
check "at least 4 workers took turns" test "$(awk '{print $1}' out | sort -u | wc -l)" -ge 4
expect_no_grep "recycling is not a crash" "killed|restarted:|exited with status [1-9]" err
expect_grep "nor counted as a restart" "0 workers replaced" err

finish
