# bash completion for mpworker: its options (from mpworker --help), file
# names after --config, --joblog and --undo, and SECTION.KEY= after -o
# (from mpworker --check-config).  Installed as
# $(datadir)/bash-completion/completions/mpworker.

_mpworker_keys()
{
	"$1" --check-config -o jobs.job=true 2>/dev/null | awk '
		/^\[/ { gsub(/[][]/, ""); section = $0; next }
		/^;?[a-z_]+ =/ { key = $1; sub(/^;/, "", key); print section "." key "=" }'
}

_mpworker()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local prog=${COMP_WORDS[0]}

	COMPREPLY=()
	case $prev in
	-c|--config)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
		return
		;;
	--joblog|--undo)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-o)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$(_mpworker_keys "$prog")" -- "$cur"))
		return
		;;
	-j|--workers|--command|--halt)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		local opts
		opts=$("$prog" --help 2>/dev/null | grep -oE -- '(^| )--?[a-zA-Z][a-z-]*' | tr -d ' ' | sort -u)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	fi
}
complete -F _mpworker mpworker
