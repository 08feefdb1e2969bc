# Each job's output reaches mpworker's stdout as one block, never interleaved.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 4
[jobs]
file = jobs.txt
[command]
; 200 lines per job, with pauses, so that jobs overlap while printing
template = for i in $(seq 1 200); do echo "job {1} line $i"; [ $((i % 50)) = 0 ] && sleep 0.05; done; echo "job {1} err" >&2
INI
seq 1 12 > jobs.txt
run_mpw -c c.ini
expect_eq "exit 0" "$rc" 0
expect_eq "all output arrived" "$(wc -l < out)" 2400
# In a block-per-job stream, the job number changes exactly 11 times.
changes=$(awk '{ if ($2 != prev) n++; prev = $2 } END { print n - 1 }' out)
expect_eq "12 unbroken blocks" "$changes" 11
expect_eq "each block is in order" \
	"$(awk '{ if ($4 != (seen[$2] + 1)) bad++; seen[$2] = $4 } END { print bad + 0 }' out)" 0
expect_eq "stderr gets each job's stderr" "$(grep -c ' err$' err)" 12

# Output larger than one message (64 KiB) and than a pipe buffer.
printf '[pool]\nworkers = 2\n[jobs]\njob = head -c 3000000 /dev/zero | tr "\\\\0" a; echo\njob = head -c 2000000 /dev/zero | tr "\\\\0" b; echo\n' > big.ini
run_mpw -c big.ini
expect_eq "big outputs exit 0" "$rc" 0
expect_eq "two whole lines, one per job" "$(awk '{ print length($0), substr($0, 1, 1) }' out | sort | tr '\n' ' ')" \
	"2000000 b 3000000 a "
expect_eq "each line of one letter only" "$(grep -cE '^(a+|b+)$' out)" 2


# --line-buffer: a command's lines go on as they come, so two jobs'
# lines interleave, but only between lines: a line written in two pieces
# arrives whole.  --tag starts each line with its job's line and a tab.
printf 'for i in 1 2 3; do echo a$i; sleep 0.4; done\nsleep 0.2; for i in 1 2 3; do echo b$i; sleep 0.4; done\n' > lb.txt
printf 'printf half; sleep 0.5; echo -and-half\nfor i in 1 2 3 4 5; do echo z$i; sleep 0.2; done\n' > piece.txt
run_mpw -j 2 -o jobs.file=lb.txt --line-buffer
expect_eq "--line-buffer: lines as they come, the two jobs' interleaved" "$(tr '\n' ' ' < out)" "a1 b1 a2 b2 a3 b3 "
run_mpw -j 2 -o jobs.file=lb.txt
expect_eq "without it, a job's output is one block" "$(tr '\n' ' ' < out)" "a1 a2 a3 b1 b2 b3 "
run_mpw -j 2 -o jobs.file=piece.txt --line-buffer
expect_grep "a line written in two pieces arrives whole" "^half-and-half$" out
check "while the other job's lines went on meanwhile" test "$(grep -n '^half' out | cut -d: -f1)" -gt 1
printf 'x 1\ny 2\n' | "$MPWORKER" --no-progress -j 1 --command 'echo {2}; echo more' --tag >out 2>err
expect_eq "--tag: each line after its job's line" "$(cat out)" "$(printf 'x 1\t1\nx 1\tmore\ny 2\t2\ny 2\tmore')"

finish
