# [output] results: each job's stdout and stderr in files of its own,
# under a temporary name until the attempt ends, so a partial file never
# has its final name; a retry replaces them; --resume leaves finished
# jobs' files alone.
. "$SRCDIR/tests/lib.sh"

no_partial() { [ -z "$(find "$1" -name '*.partial')" ]; }

# A directory: N.out and N.err for each job.
seq 1 20 | sed 's/.*/echo out&; echo err& >\&2/' > jobs.txt
run_mpw -j 4 -o jobs.file=jobs.txt -o output.results=res
expect_eq "results = DIR: exit 0" "$rc" 0
expect_eq "nothing on standard output" "$(wc -c < out)" 0
expect_eq "every job's stdout in its file" "$(for i in $(seq 1 20); do cat res/$i.out; done | tr '\n' ' ')" \
	"$(seq 1 20 | sed 's/^/out/' | tr '\n' ' ')"
expect_eq "and its stderr" "$(cat res/7.err)" err7
check "no temporary file is left" no_partial res

# A template: {1} a field, made one safe path component.
printf 'alpha 1\nb/../../escape 2\n.. 3\n' > t.txt
run_mpw -j 2 -o jobs.file=t.txt -o command.template='echo {2}' -o output.results='parts/{1}.tsv'
expect_eq "results = a template: exit 0" "$rc" 0
expect_eq "each job's file named from its line" "$(cd parts && ls | sort | tr '\n' ' ')" \
	"_.tsv _.tsv.err alpha.tsv alpha.tsv.err b_.._.._escape.tsv b_.._.._escape.tsv.err "
check "no line could place a file outside" test ! -e escape.tsv -a ! -e ../escape.tsv
expect_eq "with its output" "$(cat parts/alpha.tsv)" 1

# A retry replaces the first attempt's files.
printf 'if [ -e tried ]; then echo second; else touch tried; echo first; exit 1; fi\n' > r.txt
run_mpw -j 1 -o jobs.file=r.txt -o pool.retries=1 -o output.results=rr
expect_eq "a job retried: exit 0" "$rc" 0
expect_eq "its file holds the last attempt's output" "$(cat rr/1.out)" second

# A worker killed mid-job: what it had written never gets the final name;
# the retry's whole output does.
printf 'if [ -e k.done ]; then echo whole; else touch k.done; echo part; sleep 30; fi\n' > k.txt
"$MPWORKER" --no-progress -j 1 -o jobs.file=k.txt -o pool.retries=1 -o output.results=kr --line-buffer >out 2>err &
mpw=$!
has_partial() { [ -n "$(find kr -name '*.partial' 2>/dev/null)" ]; }
wait_for 10 has_partial || fail "the job's output did not start"
check "while the job runs, its output has only a temporary name" test ! -e kr/1.out
kill -9 "$(pgrep -P $mpw | head -1)"
wait $mpw; rc=$?
expect_eq "the killed worker's job is retried: exit 0" "$rc" 0
expect_eq "the final file holds the retry's output only" "$(cat kr/1.out)" whole
check "and no temporary file is left" no_partial kr

# --resume leaves finished jobs' files alone.
seq 1 6 | sed 's/.*/sleep 0.3; echo run&/' > s.txt
printf '[pool]\nworkers = 1\njoblog = s.joblog\nhalt = soon,done=3\n[jobs]\nfile = s.txt\n[output]\nresults = sr\n' > s.ini
run_mpw -c s.ini
expect_eq "halted after 3: exit 6" "$rc" 6
echo kept > sr/1.out
run_mpw -c s.ini --resume -o pool.halt=never
expect_eq "--resume: exit 0" "$rc" 0
expect_eq "a finished job's file is not touched" "$(cat sr/1.out)" kept
expect_eq "the rest are written" "$(cat sr/6.out)" run6

# SQL rows too.
if [ -e "$BUILDDIR/drivers/sqlite.so" ]; then
	printf 'SELECT 1, 2\nSELECT 3\n' | "$MPWORKER" --no-progress --sql -o database.driver=sqlite \
		-o database.path=r.db -o database.create=yes -o output.results=sq >out 2>err
	expect_eq "SQL rows to their job's file" "$(cat sq/1.out) $(cat sq/2.out)" "$(printf '1\t2') 3"
fi

finish
