# 10,000 command jobs all run exactly once, with bounded parent memory.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 4
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
template = echo {1}
INI
seq 1 10000 > jobs.txt
run_mpw -c c.ini
expect_eq "exit 0" "$rc" 0
expect_eq "10,000 lines of output, each job once" "$(sort -n out | uniq | wc -l) $(wc -l < out)" "10000 10000"
expect_eq "exactly jobs 1..10000" "$(sort -n out | md5sum)" "$(seq 1 10000 | md5sum)"
expect_eq "the joblog records each once" "$(joblog_ok run.joblog | uniq | wc -l)" 10000
expect_grep "the report" "10000 jobs: 10000 succeeded, 0 failed" err

finish
