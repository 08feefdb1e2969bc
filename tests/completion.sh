# Bash completion (etc/mpworker.bash): options, file names after
# --config, --joblog and --undo, and SECTION.KEY= after -o.
. "$SRCDIR/tests/lib.sh"

complete_words() {	# complete_words WORD...: what completing the last word offers
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mpworker
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' sh "$SRCDIR/etc/mpworker.bash" "$MPWORKER" "$@" | sort | tr '\n' ' '
}
expect_eq "--con completes to --config" "$(complete_words --con)" "--config "
expect_eq "--re offers --reload, --resume, --resume-failed" "$(complete_words --re)" "--reload --resume --resume-failed "
expect_eq "-o pool.wo completes to the key" "$(complete_words -o pool.wo)" "pool.workers= "
expect_eq "-o status. offers the [status] keys" "$(complete_words -o status.)" "status.listen= status.socket= "
mkdir d
touch a.ini b.txt d/c.ini
expect_eq "--config offers INI files and folders" "$(complete_words --config '')" "a.ini d "
expect_eq "--joblog offers any file" "$(complete_words --joblog '')" "a.ini b.txt d "
expect_eq "-j takes a number: nothing offered" "$(complete_words -j '')" ""
finish
