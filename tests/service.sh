# --service: sd_notify READY/STATUS/STOPPING, jobs from a FIFO, SIGHUP reload, SIGTERM.
. "$SRCDIR/tests/lib.sh"
# children_of PID N: PID has N child processes (counted anew at each try of wait_for).
children_of() { [ "$(pgrep -P "$1" | wc -l)" -eq "$2" ]; }

# A stand-in for systemd's notify socket: records each datagram as a line.
cat > notify.py <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
PY
python3 notify.py "$T/notify.sock" notify.log &
wait_for 5 test -S notify.sock || fail "notify socket did not appear"

mkfifo jobs.fifo
cat > svc.ini <<'INI'
[pool]
workers = 2
joblog = svc.joblog
[jobs]
file = jobs.fifo
INI
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 "$MPWORKER" --service -c svc.ini >out 2>err &
mpw=$!
check "READY=1 once the workers are up" wait_for 10 grep -q "^READY=1" notify.log
check "STATUS= with live counters" wait_for 5 grep -q "^STATUS=.*done" notify.log
check "WATCHDOG=1 when systemd asks for it" wait_for 5 grep -q "^WATCHDOG=1" notify.log
expect_eq "two workers" "$(pgrep -P $mpw | wc -l)" 2

feed "touch one" jobs.fifo
check "a job written to the FIFO runs" wait_for 10 test -e one
feed "touch two" jobs.fifo
check "and another writer's job too" wait_for 10 test -e two
check "the service keeps running" kill -0 $mpw

# A bad config on reload is refused; the service goes on with the old one.
printf '[pool]\nworkers = lots\n[jobs]\nfile = jobs.fifo\n' > svc.ini
kill -HUP $mpw
check "a bad reload is logged" wait_for 5 grep -q "reload failed; still running the old configuration" err
expect_grep "naming line and key" "svc.ini:2: \[pool\] workers" err
feed "touch three" jobs.fifo
check "jobs still run after a bad reload" wait_for 10 test -e three

# A good one replaces the workers.
printf '[pool]\nworkers = 3\njoblog = svc.joblog\n[jobs]\nfile = jobs.fifo\n' > svc.ini
kill -HUP $mpw
check "a good reload is logged" wait_for 5 grep -q "reloaded .*: 3 workers" err
three_workers() { [ "$(pgrep -P $mpw | wc -l)" -eq 3 ]; }
check "and three workers run" wait_for 5 three_workers
feed "touch four" jobs.fifo
check "jobs run after the reload" wait_for 10 test -e four

feed "false" jobs.fifo
check "a failing job is recorded" wait_for 10 grep -q "	1	0	false$" svc.joblog
kill -TERM $mpw
wait $mpw; rc=$?
expect_eq "SIGTERM stops the service with exit 0, though a job failed" "$rc" 0

check "STOPPING=1 was sent" grep -q "^STOPPING=1" notify.log
expect_eq "the joblog has the four jobs" "$(joblog_ok svc.joblog | wc -l)" 4

# A reload whose new init hook fails keeps the old workers: jobs go on
# running, and the failure is said at error priority with the reason.
mkfifo r.fifo
printf '[pool]\nworkers = 2\njoblog = r.joblog\n[database]\ndriver = sqlite\npath = r.db\ncreate = yes\ninit = %s\n[jobs]\nfile = r.fifo\n' \
	'PRAGMA busy_timeout = 5000' > r.ini
"$MPWORKER" --service -c r.ini >r.out 2>r.err &
rmpw=$!
two_workers() { [ "$(pgrep -P $rmpw | wc -l)" -eq 2 ]; }
check "two workers before the reload" wait_for 10 two_workers
sed -i 's/^init = .*/init = SELECT no_such_function()/; s/workers = 2/workers = 3/' r.ini
kill -HUP $rmpw
check "the failed reload is logged" wait_for 10 grep -q "reload failed: .*no such function: no_such_function.*; still running the old configuration" r.err
expect_no_grep "it never claims to have reloaded" "reloaded" r.err
feed "touch r1" r.fifo; feed "touch r2" r.fifo; feed "touch r3" r.fifo
check "jobs fed after it run on the old workers" wait_for 10 test -e r1 -a -e r2 -a -e r3
check "still two workers" two_workers
# Mended, the next reload replaces the workers, and says so only then.
sed -i 's/^init = .*/init = PRAGMA busy_timeout = 4000/' r.ini
kill -HUP $rmpw
check "the good reload is logged" wait_for 10 grep -q "reloaded .*: 3 workers" r.err
three() { [ "$(pgrep -P $rmpw | wc -l)" -eq 3 ]; }
check "and three workers run" wait_for 10 three
feed "touch r4" r.fifo
check "jobs run after it" wait_for 10 test -e r4
kill -TERM $rmpw
wait $rmpw; rc=$?
expect_eq "the service stops with exit 0" "$rc" 0
expect_eq "every job is in its joblog" "$(joblog_ok r.joblog | wc -l)" 4

# Jobs read from a stream and not yet run when the service stops are
# kept in a spool next to the joblog, and run first at the next start:
# nothing read is lost, and nothing runs twice.
mkfifo sp.fifo
printf '[pool]\nworkers = 2\njoblog = sp.joblog\n[jobs]\nfile = sp.fifo\n' > sp.ini
"$MPWORKER" --service -c sp.ini >sp.out 2>sp.err &
spmpw=$!
wait_for 10 children_of $spmpw 2
printf 'sleep 1; echo %s >> sp.ran\n' 1 2 3 4 5 6 > sp.jobs
timeout 10 sh -c 'cat sp.jobs > sp.fifo' || fail "nobody read sp.fifo"
sleep 1.5
kill -TERM $spmpw
wait $spmpw; rc=$?
expect_eq "stopped with jobs read and not run: exit 0" "$rc" 0
expect_eq "the jobs in hand finished, the others did not start" "$(sort sp.ran | tr '\n' ' ')" "1 2 3 4 "
check "the rest are in the spool" test -s sp.joblog.spool
expect_grep "and it says so" "2 jobs read and not run kept in .*sp.joblog.spool" sp.err
"$MPWORKER" --service -c sp.ini >sp.out 2>sp.err &
spmpw=$!
six() { [ "$(wc -l < sp.ran)" -ge 6 ]; }
check "the next start runs them" wait_for 10 six
check "and removes the spool once they are done" wait_for 5 test ! -e sp.joblog.spool
feed "echo 7 >> sp.ran" sp.fifo
check "then takes new jobs" wait_for 10 grep -q '^7$' sp.ran
kill -TERM $spmpw
wait $spmpw
expect_eq "every job ran exactly once" "$(sort -n sp.ran | tr '\n' ' ')" "1 2 3 4 5 6 7 "
expect_eq "and the joblog records each once, as succeeded" "$(joblog_ok sp.joblog | wc -l)" 7
check "no spool is left" test ! -e sp.joblog.spool

# Lines written while the service stops are kept too; one that cannot
# run (it holds a NUL) is recorded failed, not spooled to stop the next
# start.
"$MPWORKER" --service -c sp.ini -j 1 >sp.out 2>sp.err &
spmpw=$!
wait_for 10 children_of $spmpw 1
feed "sleep 1.5; echo 8 >> sp.ran" sp.fifo
sleep 0.3
kill -TERM $spmpw
sleep 0.2
printf 'echo 9 >> sp.ran\nbad\000line\n' > sp.fifo
wait $spmpw; rc=$?
expect_eq "stopped with lines written meanwhile: exit 0" "$rc" 0
expect_grep "the line holding a NUL is failed and said" "holds a NUL byte at offset 3; not run" sp.err
"$MPWORKER" --service -c sp.ini >sp.out 2>sp.err &
spmpw=$!
check "the next start runs the line written while stopping" wait_for 10 grep -q '^9$' sp.ran
kill -TERM $spmpw
wait $spmpw
check "and the spool is gone" test ! -e sp.joblog.spool

# A spool that is not one mpworker wrote is refused, not run in part.
printf 'mpworker spool 1\n99\ntoo short\n' > sp.joblog.spool
"$MPWORKER" --service -c sp.ini >sp.out 2>sp.err; rc=$?
check "a torn spool stops the start" test "$rc" -ne 0
expect_grep "saying what to do" "is not a spool mpworker wrote whole .*move it away" sp.err
rm sp.joblog.spool

# Workers still in their init hooks are starting, not idle; the status
# asked for with SIGUSR1 says so, at info priority.
printf '[pool]\nworkers = 2\n[database]\ndriver = sqlite\npath = s.db\ncreate = yes\ninit = %s\n[jobs]\nfile = jobs.fifo\n' \
	'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c' > slow.ini
"$MPWORKER" --service -c slow.ini >s.out 2>s.err &
smpw=$!
wait_for 5 children_of $smpw 2
kill -USR1 $smpw
check "the status line is written" wait_for 5 grep -q "status:" s.err
expect_grep "workers in their init hook count as starting" "status: 0 busy, 0 idle, 2 starting workers" s.err
kill -TERM $smpw
wait $smpw

# Lines carry journald priorities only when stderr is the journal's
# stream (JOURNAL_STREAM names its device and inode), the report too.
exec 3>j.log
JOURNAL_STREAM=1:1 "$MPWORKER" -o jobs.job=false 2>&3
expect_no_grep "a JOURNAL_STREAM that is not stderr: no priorities" "^<[0-9]>" j.log
JOURNAL_STREAM=$(stat -c '%d:%i' j.log) "$MPWORKER" -o jobs.job=true -o jobs.job=false 2>&3
expect_grep "stderr the journal's: job failures at warning" "^<4>job 2 failed" j.log
expect_grep "and the closing report at info" "^<6>2 jobs: 1 succeeded, 1 failed" j.log
exec 3>&-
# -j overrides [pool] workers across a reload too.
"$MPWORKER" --service -j 4 -c svc.ini >j.out 2>j.err &
jmpw=$!
four_workers() { [ "$(pgrep -P $jmpw | wc -l)" -eq 4 ]; }
check "-j 4 starts four workers" wait_for 5 four_workers
kill -HUP $jmpw
check "the reload is logged" wait_for 5 grep -q "reloaded .*: 4 workers" j.err
sleep 0.3
check "-j 4 still holds after the reload" four_workers
# A restarted service keeps its joblog's history: it appends.
feed "touch five" jobs.fifo
check "the restarted service runs a job" wait_for 10 test -e five
kill -TERM $jmpw
wait $jmpw
expect_eq "its joblog kept the first start's jobs and added this one's" \
	"$(tail -n +2 svc.joblog | cut -f7,9 | tr '\t\n' ' ,')" "0 touch one,0 touch two,0 touch three,0 touch four,1 false,0 touch five,"
expect_eq "under one header" "$(grep -c '^Seq' svc.joblog)" 1
finish
