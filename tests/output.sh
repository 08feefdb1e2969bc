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

finish
