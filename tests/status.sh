# The status socket: --status (text and JSON), --metrics (Prometheus
# text, checked by promtool), --reload that waits for the outcome; and
# clients that misbehave cannot stall the service.
. "$SRCDIR/tests/lib.sh"

mkfifo jobs.fifo
cat > s.ini <<'INI'
[pool]
workers = 2
joblog = s.joblog
[jobs]
file = jobs.fifo
[status]
socket = s.sock
INI
mpw() { "$MPWORKER" "$@" -c s.ini; }

mpw --status >out 2>err; rc=$?
expect_eq "--status with nobody running: exit 2" "$rc" 2
expect_grep "and says so" "no mpworker answers on .*s.sock" err
# Something that takes the connection and never answers: the client gives up.
python3 -c '
import socket, time
s = socket.socket(socket.AF_UNIX); s.bind("hang.sock"); s.listen(1)
c, _ = s.accept(); time.sleep(30)' &
hang=$!
wait_for 5 test -S hang.sock
"$MPWORKER" --status -o status.socket=hang.sock -c s.ini >out 2>err; rc=$?
expect_eq "--status on a socket that never answers: exit 2" "$rc" 2
expect_grep "after a while, saying so" "did not answer within 10 s" err
kill $hang 2>/dev/null

"$MPWORKER" --service -c s.ini >svc.out 2>svc.err &
svc=$!
check "the socket appears" wait_for 10 test -S s.sock
expect_eq "it is the owner's only" "$(stat -c %a s.sock)" 600
two() { [ "$(pgrep -P $svc | wc -l)" -eq 2 ]; }
check "two workers" wait_for 10 two

feed "sleep 3" jobs.fifo
feed "true" jobs.fifo
feed "false" jobs.fifo
busy() { mpw --status | grep -q " busy "; }
check "a worker shows busy" wait_for 10 busy
mpw --status >st.txt
expect_grep "the header names the pid and the config" "pid $svc, service, .*s.ini, command jobs, 2 workers" st.txt
expect_grep "the busy worker names its job and for how long" "^[12] +[0-9]+ +busy +1 +[0-9.]+s " st.txt
expect_grep "totals count what finished" "^totals: 1 succeeded, 1 failed, 0 retried; 0 pending, 1 in flight" st.txt

mpw --status --json >st.json
expect_eq "--json is JSON with every worker and the totals" \
	"$(python3 -c 'import json,sys; d=json.load(open("st.json")); print(d["pid"], len(d["workers"]), sorted(w["state"] for w in d["workers"]), d["totals"]["succeeded"], d["totals"]["failed"])')" \
	"$svc 2 ['busy', 'idle'] 1 1"

mpw --metrics >m.txt
expect_eq "--metrics passes promtool check metrics" "$(promtool check metrics <m.txt 2>&1; echo "rc $?")" "rc 0"
expect_grep "jobs by kind and outcome" '^mpworker_jobs_total\{kind="command",outcome="failed"\} 1$' m.txt
expect_grep "workers by state" '^mpworker_workers\{state="busy"\} 1$' m.txt
expect_grep "a histogram of durations" '^mpworker_job_duration_seconds_count 2$' m.txt

# Clients that misbehave: silent ones, one sending an endless line, more
# than the service serves at once.  It goes on answering and running jobs.
python3 - <<'PY' &
import socket, time
held = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect("s.sock")
    held.append(s)
g = socket.socket(socket.AF_UNIX)
g.connect("s.sock")
try:
    g.sendall(b"x" * 100000)
except OSError:
    pass
time.sleep(8)
PY
bad=$!
sleep 0.5
feed "touch after" jobs.fifo
check "jobs still run with hostile clients connected" wait_for 10 test -e after
answered() { mpw --status >/dev/null 2>&1; }
check "and --status is answered once they are dropped (5 s)" wait_for 10 answered
rss1=$(awk '/VmRSS/ { print $2 }' /proc/$svc/status)
kill $bad 2>/dev/null
wait $bad 2>/dev/null
check "its memory did not grow with them ($rss1 kB)" test "$rss1" -lt 20000
# ask REQUEST: send one raw line on the socket, print the answer's start.
ask() {
	printf '%s\n' "$1" | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect("s.sock"); s.sendall(sys.stdin.buffer.read())
print(s.recv(4200).decode().strip())'
}
ask bogus > bogus.out
expect_grep "an unknown request gets a clear answer" "unknown request; ask for status, status json, metrics, config or reload" bogus.out
ask config > config.out
expect_eq "config: the real path of the INI it runs" "$(cat config.out)" "$(realpath s.ini)"

answered_by_pid() { kill -0 $svc && answered; }

# --reload waits for the new workers: ok once ready, the reason if not.
# An old worker busy with a job finishes it, counted as stopping.
feed "sleep 4" jobs.fifo
check "a job keeps an old worker busy" wait_for 10 busy
sed -i 's/^workers = 2/workers = 3/' s.ini
mpw --reload >out 2>err; rc=$?
expect_eq "--reload: exit 0 once the new workers are ready" "$rc" 0
expect_grep "and says so" "^ok: reloaded .*s.ini: 3 workers" out
mpw --status >st.txt
expect_grep "--status shows the old busy worker stopping" "^[0-9]+ +[0-9]+ +stopping +[0-9]+ +[0-9.]+s" st.txt
kill -USR1 $svc
status_logged() { grep -q "status: 0 busy, 3 idle, 1 stopping workers" svc.err; }
check "and so does the status line" wait_for 5 status_logged
three() { [ "$(pgrep -P $svc | wc -l)" -eq 3 ]; }
check "three workers run" wait_for 10 three
printf '[database]\ndriver = sqlite\npath = no/such/dir/x.db\n' >> s.ini
mpw --reload >out 2>err; rc=$?
expect_eq "--reload with an init that fails: exit 1" "$rc" 1
expect_grep "with the reason" "^failed: new worker [0-9] cannot connect to sqlite" err
check "the old workers serve on" three
feed "touch still" jobs.fifo
check "and run jobs" wait_for 10 test -e still
sed -i 's/^workers = 3/workers = many/' s.ini
mpw --reload >out 2>err; rc=$?
check "--reload of an INI that does not parse fails" test "$rc" -ne 0
expect_grep "naming the line" "s.ini:2: \[pool\] workers" err
sed -i 's/^workers = many/workers = 1/; /^\[database\]/,$d' s.ini
check "the service serves on" answered_by_pid

# One socket, one service: a second one is refused; a stale file is replaced.
"$MPWORKER" --service -c s.ini -o pool.joblog=two.joblog >two.out 2>two.err; rc=$?
expect_eq "a second service on the same socket: exit 2" "$rc" 2
expect_grep "another one answers there" "another mpworker answers on it" two.err
kill -TERM $svc
wait $svc
check "the socket goes with the service" test ! -e s.sock
python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("s.sock")'
"$MPWORKER" --service -c s.ini >svc.out 2>svc.err &
svc=$!
check "a socket left behind is replaced" wait_for 10 answered
kill -TERM $svc
wait $svc

# [status] listen: GET /metrics and /status over HTTP (libmicrohttpd).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MPWORKER" --service -c s.ini -o status.listen=127.0.0.1:$port >svc.out 2>svc.err &
svc=$!
check "the service says where it serves" wait_for 10 grep -q "serving GET /metrics and /status on http://127.0.0.1:$port/" svc.err
curl -sf http://127.0.0.1:$port/metrics >hm.txt
expect_eq "GET /metrics passes promtool check metrics" "$(promtool check metrics <hm.txt 2>&1; echo "rc $?")" "rc 0"
expect_eq "GET /status is the status as JSON" \
	"$(curl -sf http://127.0.0.1:$port/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" "$svc"
expect_eq "another path is 404" "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/etc/passwd)" 404
expect_eq "another method is 405" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:$port/metrics)" 405
# Idle connections and one that never ends its request do not stop it.
python3 - "$port" <<'PY' &
import socket, sys, time
held = []
for i in range(30):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        pass
time.sleep(8)
PY
slow=$!
sleep 0.5
served() { curl -sf -m 2 http://127.0.0.1:$port/metrics >/dev/null; }
check "it serves again once the idle ones time out (5 s)" wait_for 12 served
feed "touch http-ran" jobs.fifo
check "and jobs ran meanwhile" wait_for 10 test -e http-ran
kill $slow 2>/dev/null
wait $slow 2>/dev/null
kill -TERM $svc
wait $svc
check "the port is closed when it ends" sh -c "! curl -s -m 2 http://127.0.0.1:$port/metrics"
run_mpw -c s.ini -o status.listen=localhost
check "listen without a port is refused" test "$rc" -eq 2
expect_grep "saying what it wants" "\[status\] listen: 'localhost' is not ADDRESS:PORT" err

printf '[jobs]\njob = true\n' > none.ini
"$MPWORKER" --status -c none.ini >out 2>err; rc=$?
expect_eq "--status without a [status] socket: exit 2" "$rc" 2
expect_grep "says what is missing" "names no \[status\] socket" err
finish
