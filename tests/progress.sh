# The progress bar: on when stderr is a terminal, --progress / --no-progress.
. "$SRCDIR/tests/lib.sh"

printf '[pool]\nworkers = 2\n[jobs]\nfile = jobs.txt\n[command]\ntemplate = sleep 0.05\n' > c.ini
seq 1 40 > jobs.txt

"$MPWORKER" -c c.ini --progress >out 2>err; rc=$?
expect_eq "--progress exits 0" "$rc" 0
expect_grep "it draws done/total, rate and ETA" '\] +[0-9]+/40 +[0-9]+% +0 failed +[0-9.]+/s ETA +[0-9]+:[0-9]{2}' err
# The bar keeps its length as the numbers grow (9/40, then 10/40).
expect_eq "the bar keeps one length" \
	"$(tr '\r' '\n' < err | grep -ao '^\[[^]]*\]' | awk '{ print length($0) }' | sort -u | wc -l)" 1
expect_grep "and the final state" '40/40 100%' err
expect_grep "the report follows the bar" "40 jobs: 40 succeeded" err

"$MPWORKER" -c c.ini >out 2>err; rc=$?
expect_no_grep "no bar by default when stderr is not a terminal" 'ETA' err

# Under a pseudo-terminal, as a user at a shell would run it.
script -qec "$MPWORKER -c c.ini" /dev/null >tty.out 2>&1; rc=$?
expect_eq "on a terminal exits 0" "$rc" 0
expect_grep "a bar is drawn by default on a terminal" 'ETA +[0-9]+:[0-9]{2}' tty.out
script -qec "$MPWORKER -c c.ini --no-progress" /dev/null >tty.out 2>&1
expect_no_grep "--no-progress silences it" 'ETA' tty.out

# Groups: the ones under way follow the bar, each as done/of.
for g in alpha beta; do seq 1 20 | sed "s/^/$g /"; done > g.txt
"$MPWORKER" -c c.ini -o jobs.file=g.txt -o jobs.group='{1}' -o jobs.then='true {group}' --progress >out 2>err; rc=$?
expect_eq "--progress with groups exits 0" "$rc" 0
expect_grep "the groups under way follow the bar" '\| alpha [0-9]+/20' err
expect_grep "the second one too, in its turn" 'beta [0-9]+/20' err
expect_grep "a finished group says so" 'group alpha: 20 jobs and its step done' err

# Jobs from a pipe: the total is unknown until the input ends, so a running count.
(echo "sleep 0.3"; sleep 1; echo true) | "$MPWORKER" -c "$SRCDIR/tests/stdin.ini" --progress >out 2>err
expect_grep "a running count while the input is open" '[0-9]+ done, 0 failed, [0-9.]+/s' err

finish
