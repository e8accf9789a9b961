#!/bin/bash
# docs-check: the manuals and the code agree. No root, no namespaces.
#
#  1. Settings. What natd accepts (natd/conf.c: the items[] table, the list
#     names in its lists[] table, and the key tables of the lists)
#     and what sipproxy accepts (sipproxy/sp_conf.c: items[], lists[] and
#     their key tables) are compared both ways with the settings documented
#     in man/natd.conf.5 and man/sipproxy.conf.5 (every ".TP" + ".B name"
#     entry; list members are written "list[].member"): each accepted
#     setting is documented exactly once, with its default (or "Required"),
#     and each documented setting is accepted. Each accepted setting is also
#     mentioned in the commented reference file conf/natd.conf or
#     conf/sipproxy.conf (commented-out examples count).
#  2. Options. natd's and sipproxy's getopt strings (main.c), their usage
#     text (-h) and their man page's OPTIONS list the same letters; natctl's
#     options (cli.c) and its --help and natctl(1) name the same ones.
#     -V and --version print "PROGRAM VERSION" and exit 0; --help works.
#  3. The pages render without warnings (groff -ww, mandoc -Tlint when
#     installed) and have NAME, DESCRIPTION and SEE ALSO.
#  4. docs/. docs/glossary.md has an anchor (id="claim-N") for every claim
#     of the patent (../shared/seeds/, outside the repository: SKIP, loudly,
#     when it is absent) and for every claim number cited in the tree; no
#     file cites ../shared or DESIGN.md any more; the docs' links to
#     anchors and the tree paths they name in backquotes exist.
. "$(dirname "$0")/lib.sh"

: "${NT_NATCTL:=$NT_ROOT/libcontrol/natctl/natctl}"
: "${NT_SIPPROXY:=$NT_ROOT/sipproxy/sipproxy}"

MAN=$NT_ROOT/man
NATD_C=$NT_ROOT/natd/conf.c
SP_C=$NT_ROOT/sipproxy/sp_conf.c
PAGES=(natd.8 sipproxy.8 natctl.1 natd.conf.5 sipproxy.conf.5 libcontrol.3)

for f in "$NATD_C" "$SP_C"; do
	[[ -f $f ]] || { it_fail sources "no $f"; exit 1; }
done

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$NT_ROOT/configure.ac")

# ------------------------------------------------------------ helpers

# set_diff A B: the lines of A (sorted, unique) not in B.
set_diff() { comm -23 <(sort -u <<<"$1") <(sort -u <<<"$2") | sed '/^$/d'; }
# oneline TEXT: the lines as one comma-separated line.
oneline() { sed '/^$/d' <<<"$1" | paste -sd, - | sed 's/,/, /g'; }

# compare NAME WHAT_A A WHAT_B B: PASS if the sets are equal.
compare() {
	local name=$1 wa=$2 a=$3 wb=$4 b=$5 only_a only_b msg=""
	only_a=$(set_diff "$a" "$b")
	only_b=$(set_diff "$b" "$a")
	[[ -n $only_a ]] && msg="in $wa, not in $wb: $(oneline "$only_a")"
	[[ -n $only_b ]] && msg="${msg:+$msg; }in $wb, not in $wa: $(oneline "$only_b")"
	if [[ -z $msg ]]; then it_pass "$name"; else it_fail "$name" "$msg"; fi
}

# subset NAME WHAT_A A WHAT_B B: PASS if every line of A is in B.
subset() {
	local name=$1 wa=$2 a=$3 wb=$4 b=$5 missing
	missing=$(set_diff "$a" "$b")
	if [[ -z $missing ]]; then
		it_pass "$name"
	else
		it_fail "$name" "in $wa, not in $wb: $(oneline "$missing")"
	fi
}

# c_block FILE START_RE: the lines from the one matching START_RE to the
# first line "};" after it (a static table).
c_block() { awk -v re="$2" '$0 ~ re { on = 1 } on { print } on && /^};/ { exit }' "$1"; }

# c_strings: every "string" literal of stdin, one per line.
c_strings() { grep -o '"[^"]*"' | tr -d '"'; }

# ------------------------------------------------------------ accepted settings

# hastore_items FILE: the settings of each HASTORE_CONF_ITEMS("group", ...)
# row of FILE (the shared "ha" group, its keys in common/hastore.h).
hastore_items() {
	local g
	for g in $(grep -o 'HASTORE_CONF_ITEMS("[^"]*"' "$1" | c_strings); do
		grep -o 'G "\.[a-z_]*"' "$NT_ROOT/common/hastore.h" | sed 's/^G "\.\(.*\)"/\1/' | sed "s/^/$g./"
	done
}

# natd: items[] paths (ITEM rows), lists[] paths (loaded by hand), the key
# tables.
natd_accepted() {
	local line name parent
	c_block "$NATD_C" '^static const struct conftab_item items\[\] = \{' | grep -o '^[[:space:]]*ITEM("[^"]*"' | c_strings
	hastore_items "$NATD_C"
	grep '^static const struct conftab_list lists\[\] = ' "$NATD_C" | grep -o '\.path = "[^"]*"' | c_strings
	# key tables: static const char *const X_keys[] = {"a", "b", ...};
	awk '/^static const char \*const [a-z_]*_keys\[\] = \{/ { on = 1; buf = "" }
	     on { buf = buf " " $0 }
	     on && /};/ { on = 0; print buf }' "$NATD_C" |
		while IFS= read -r line; do
			name=$(sed 's/.*const \([a-z_]*_keys\)\[\].*/\1/' <<<"$line")
			case $name in
			realm_keys) parent=realms ;;
			pool_keys) parent=realms.pool ;;
			transit_keys) parent=realms.transit_pools ;;
			forward_keys) parent=forwards ;;
			client_keys) parent=control.clients ;;
			tcp_client_keys) parent=control.tcp_clients ;;
			*) echo "?unmapped:$name"; continue ;;
			esac
			sed 's/.*= {//' <<<"$line" | c_strings | sed "s/^/$parent./"
		done
}

# sipproxy: items[] paths, lists[] paths and, under each, its key table.
sp_accepted() {
	local path table
	c_block "$SP_C" '^static const struct conftab_item items\[\] = \{' | grep -o '\.path = "[^"]*"' | c_strings
	hastore_items "$SP_C"
	c_block "$SP_C" '^static const struct conftab_list lists\[' |
		sed -n 's/.*\[L_[A-Z]*\] = {"\([^"]*\)", *\([a-z_]*_keys\),.*/\1 \2/p' |
		while read -r path table; do
			echo "$path"
			c_block "$SP_C" "^static const struct conftab_item $table\\[\\] = \\{" |
				grep -o '\.path = "[^"]*"' | c_strings | sed "s/^/$path./"
		done
}

# ------------------------------------------------------------ documented settings

# man_entries PAGE: the name of every ".TP" + ".B name" entry whose name is
# a setting path ("[]" removed); a second column with 1 when its text
# states a default or "Required", else 0.
man_entries() {
	awk '
	function flush() {
		if (name != "") print name, (body ~ /[Dd]efault|[Rr]equired/) ? 1 : 0
		name = ""; body = ""
	}
	/^\.(TP|SH|SS|PP)/ { flush() }
	prev == ".TP" && /^\.B [a-z_][a-z0-9_.\[\]]*$/ { name = $2; gsub(/\[\]/, "", name); prev = $0; next }
	name != "" { body = body " " $0 }
	{ prev = $0 }
	END { flush() }' "$1"
}

# ------------------------------------------------------------ reference configs

# conf_mentions FILE: the dotted path (list elements collapsed) of every
# "name =" or "name :" in a libconfig file, including those in whole-line
# comments, which are read as configuration in the context where they
# stand (so a commented-out example counts as a mention).
conf_mentions() {
	awk '
	function push(kind, p) { depth++; K[depth] = kind; P[depth] = p }
	function pop() { if (depth > 0) depth-- }
	function cur() { return depth ? P[depth] : "" }
	function join(a, b) { return a == "" ? b : a "." b }
	function save_main(   i) { md = depth; for (i = 1; i <= depth; i++) { MK[i] = K[i]; MP[i] = P[i] } }
	function load_main(   i) { depth = md; for (i = 1; i <= md; i++) { K[i] = MK[i]; P[i] = MP[i] } }
	function save_comment(   i) { cd = depth; for (i = 1; i <= depth; i++) { CK[i] = K[i]; CP[i] = P[i] } }
	function load_comment(   i) { depth = cd; for (i = 1; i <= cd; i++) { K[i] = CK[i]; P[i] = CP[i] } }
	# parse(text): tokens up to the end or a comment
	function parse(t,   i, n, c, w) {
		n = length(t); i = 1
		while (i <= n) {
			c = substr(t, i, 1)
			if (c ~ /[ \t\r]/) { i++; continue }
			if (c == "#" || substr(t, i, 2) == "//") return
			if (c == "\"") {
				for (i++; i <= n && substr(t, i, 1) != "\""; i++)
					if (substr(t, i, 1) == "\\") i++
				i++; last = "str"; continue
			}
			if (c ~ /[A-Za-z_*]/) {
				w = ""
				while (i <= n && substr(t, i, 1) ~ /[-A-Za-z0-9_*]/) { w = w substr(t, i, 1); i++ }
				last = "ident"; word = w; continue
			}
			if (c == "=" || c == ":") {
				if (last == "ident" && (depth == 0 || K[depth] != "array")) {
					print join(cur(), word); name = word; last = "assign"
				} else last = "other"
				i++; continue
			}
			if (c == "{" || c == "(") {
				if (last == "assign") push(c == "{" ? "group" : "list", join(cur(), name))
				else push(c == "{" ? "group" : "list", cur())
				last = "open"; i++; continue
			}
			if (c == "[") { push("array", cur()); last = "open"; i++; continue }
			if (c == "}" || c == ")" || c == "]") { pop(); last = "close"; i++; continue }
			last = "other"; i++
		}
	}
	BEGIN { depth = 0; incomment = 0 }
	/^[ \t]*(#|\/\/)/ {
		t = $0; sub(/^[ \t]*(#|\/\/)/, "", t)
		if (!incomment) { save_main(); incomment = 1 } else load_comment()
		parse(t); save_comment(); load_main(); next
	}
	/^[ \t]*$/ { next }
	{ incomment = 0; parse($0); save_main() }' "$1"
}

# ------------------------------------------------------------ 1. settings

check_settings() {
	local prog=$1 page=$2 conf=$3 accepted=$4 entries documented dups undefaulted mentioned
	if [[ $accepted == *'?unmapped:'* ]]; then
		it_fail "${prog}_settings_extracted" "key table(s) docs-check.sh does not know where to place: $(grep -o '?unmapped:[a-z_]*' <<<"$accepted" | sed 's/?unmapped://' | paste -sd' ' -)"
		accepted=$(grep -v '^?unmapped:' <<<"$accepted")
	elif (($(wc -l <<<"$accepted") < 10)); then
		it_fail "${prog}_settings_extracted" "only $(wc -l <<<"$accepted") settings found in the source: the extraction broke"
		return
	else
		it_pass "${prog}_settings_extracted"
		it_info "$prog accepts $(sort -u <<<"$accepted" | wc -l) settings"
	fi
	if [[ ! -f $MAN/$page ]]; then
		it_fail "${prog}_settings_documented" "no man/$page"
		return
	fi
	entries=$(man_entries "$MAN/$page")
	documented=$(cut -d' ' -f1 <<<"$entries")
	subset "${prog}_settings_documented" "the code" "$accepted" "man/$page" "$documented"
	subset "${prog}_documented_settings_accepted" "man/$page" "$documented" "the code" "$accepted"
	dups=$(sort <<<"$documented" | uniq -d)
	if [[ -z $dups ]]; then
		it_pass "${prog}_settings_documented_once"
	else
		it_fail "${prog}_settings_documented_once" "documented more than once: $(oneline "$dups")"
	fi
	undefaulted=$(awk '$2 == 0 { print $1 }' <<<"$entries")
	if [[ -z $undefaulted ]]; then
		it_pass "${prog}_settings_have_defaults"
	else
		it_fail "${prog}_settings_have_defaults" "entries stating neither a default nor Required: $(oneline "$undefaulted")"
	fi
	if [[ ! -f $NT_ROOT/$conf ]]; then
		it_fail "${prog}_settings_in_reference_conf" "no $conf"
		return
	fi
	mentioned=$(conf_mentions "$NT_ROOT/$conf")
	subset "${prog}_settings_in_reference_conf" "the code" "$accepted" "$conf" "$mentioned"
}

check_settings natd natd.conf.5 conf/natd.conf "$(natd_accepted)"
check_settings sipproxy sipproxy.conf.5 conf/sipproxy.conf "$(sp_accepted)"

# ------------------------------------------------------------ 2. options

# man_option_letters PAGE: the letters of the ".B \-x" / ".BI \-x ..."
# entries of the OPTIONS section.
man_option_letters() {
	awk '/^\.SH / { on = ($2 == "OPTIONS") } on' "$1" |
		sed -n 's/^\.B[IR]\{0,1\} \\-\([A-Za-z]\)\( .*\)\{0,1\}$/\1/p'
}

# letters STRING: one option letter per line (":" dropped).
letters() { tr -d ':' <<<"$1" | fold -w1; }

# run_prog NAME BIN ARGS...: output in $out, exit status in $rc.
run_prog() {
	local name=$1 bin=$2
	shift 2
	out=$(timeout 10 "$bin" "$@" 2>&1)
	rc=$?
}

check_getopt_program() {
	local prog=$1 bin=$2 main=$3 optstring accepted help_lines help_synopsis documented
	if [[ ! -x $bin ]]; then
		it_fail "${prog}_built" "no executable $bin; run ./quickstart build"
		return
	fi
	optstring=$(grep -o 'getopt\(_long\)\{0,1\}(argc, argv, "[^"]*"' "$NT_ROOT/$main" | head -n1 | sed 's/.*"\(.*\)".*/\1/')
	if [[ -z $optstring ]]; then
		it_fail "${prog}_getopt_found" "no getopt(argc, argv, \"...\") in $main"
		return
	fi
	accepted=$(letters "$optstring")

	run_prog "$prog" "$bin" -h
	if [[ $rc == 0 && $out == *[Uu]sage:* ]]; then
		it_pass "${prog}_h"
	else
		it_fail "${prog}_h" "$prog -h exited $rc: $(head -n1 <<<"$out")"
	fi
	# the option lines "  -x ..." and the synopsis "usage: prog [-abc] [-x ARG]"
	help_lines=$(sed -n 's/^[[:space:]]\{1,\}-\([A-Za-z]\)\([[:space:],].*\)\{0,1\}$/\1/p' <<<"$out")
	# the usage line and its continuation lines ("       prog -S ...")
	help_synopsis=$(awk -v p="$prog" 'tolower($0) ~ /usage:/ {on = 1; print; next}
		on && $1 == p {print; next} {on = 0}' <<<"$out" |
		grep -o '\(\[\| \)-[A-Za-z]*' | tr -d '[ -' | fold -w1 | sort -u)
	compare "${prog}_help_lists_getopt_options" "getopt \"$optstring\"" "$accepted" "$prog -h" "$help_lines"
	compare "${prog}_help_synopsis_lists_getopt_options" "getopt \"$optstring\"" "$accepted" "$prog -h usage line" "$help_synopsis"
	if [[ -f $MAN/$prog.8 ]]; then
		documented=$(man_option_letters "$MAN/$prog.8")
		compare "${prog}_man_lists_getopt_options" "getopt \"$optstring\"" "$accepted" "man/$prog.8 OPTIONS" "$documented"
	else
		it_fail "${prog}_man_lists_getopt_options" "no man/$prog.8"
	fi

	run_prog "$prog" "$bin" -V
	if [[ $rc == 0 && $out == "$prog $version" ]]; then
		it_pass "${prog}_V"
	else
		it_fail "${prog}_V" "$prog -V: exit $rc, printed '$(head -n1 <<<"$out")', expected '$prog $version'"
	fi

	# the long options (getopt_long)
	run_prog "$prog" "$bin" --help
	if [[ $rc == 0 && $out == *[Uu]sage:* ]]; then
		it_pass "${prog}_long_help"
	else
		it_fail "${prog}_long_help" "$prog --help: exit $rc, printed '$(head -n1 <<<"$out")'"
	fi
	run_prog "$prog" "$bin" --version
	if [[ $rc == 0 && $out == "$prog $version" ]]; then
		it_pass "${prog}_long_version"
	else
		it_fail "${prog}_long_version" "$prog --version: exit $rc, printed '$(head -n1 <<<"$out")', expected '$prog $version'"
	fi
}

check_getopt_program natd "$NT_NATD" natd/main.c
check_getopt_program sipproxy "$NT_SIPPROXY" sipproxy/main.c

# natctl: its own parser (libcontrol/natctl/cli.c): opt(p, "long", 'x', takes)
# calls and the bind_opts[] table.
check_natctl() {
	local cli=$NT_ROOT/libcontrol/natctl/cli.c long short help help_long help_short page man_long man_short
	if [[ ! -x $NT_NATCTL ]]; then
		it_fail natctl_built "no executable $NT_NATCTL; run ./quickstart build"
		return
	fi
	long=$( {
		grep -o 'opt(&\{0,1\}p, "[^"]*"' "$cli" | c_strings
		c_block "$cli" '^} bind_opts\[B_N\] = \{' | grep -o '= {"[^"]*"' | c_strings
	} | sort -u)
	short=$(grep -o "opt(&\{0,1\}p, \"[^\"]*\", '[A-Za-z]'" "$cli" | sed "s/.*'\(.\)'/\1/" | sort -u)
	if (($(wc -l <<<"$long") < 20)); then
		it_fail natctl_options_extracted "only $(wc -l <<<"$long") long options found in cli.c: the extraction broke"
		return
	fi
	it_pass natctl_options_extracted

	run_prog natctl "$NT_NATCTL" --help
	help=$out
	if [[ $rc == 0 && $help == *Usage:* ]]; then it_pass natctl_long_help; else it_fail natctl_long_help "natctl --help exited $rc"; fi
	run_prog natctl "$NT_NATCTL" -h
	if [[ $rc == 0 && $out == "$help" ]]; then it_pass natctl_h; else it_fail natctl_h "natctl -h exited $rc or differs from --help"; fi
	# "--want-*" is a wildcard, not an option
	help_long=$(grep -oE -- '--[a-z]+(-[a-z]+)*-?\*?' <<<"$help" | grep -v '[-*]$' | sed 's/^--//' | sort -u)
	help_short=$(sed -n 's/^[[:space:]]\{1,\}-\([A-Za-z]\), --.*/\1/p' <<<"$help" | sort -u)
	compare natctl_help_lists_long_options "cli.c" "$long" "natctl --help" "$help_long"
	compare natctl_help_lists_short_options "cli.c" "$short" "natctl --help" "$help_short"

	page=$MAN/natctl.1
	if [[ -f $page ]]; then
		man_long=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" | grep -oE -- '--[a-z]+(-[a-z]+)*-?\*?' |
			grep -v '[-*]$' | sed 's/^--//' | sort -u)
		man_short=$(awk '/^\.SH / { on = ($2 == "OPTIONS") } on' "$page" |
			sed -n 's/^\.BR \\-\([A-Za-z]\) ", " \\-\\-.*/\1/p' | sort -u)
		compare natctl_man_lists_long_options "cli.c" "$long" "man/natctl.1" "$man_long"
		compare natctl_man_lists_short_options "cli.c" "$short" "man/natctl.1 OPTIONS" "$man_short"
	else
		it_fail natctl_man_lists_long_options "no man/natctl.1"
	fi

	run_prog natctl "$NT_NATCTL" -V
	if [[ $rc == 0 && $out == "natctl $version" ]]; then it_pass natctl_V; else it_fail natctl_V "natctl -V: exit $rc, printed '$out'"; fi
	run_prog natctl "$NT_NATCTL" --version
	if [[ $rc == 0 && $out == "natctl $version" ]]; then it_pass natctl_long_version; else it_fail natctl_long_version "natctl --version: exit $rc, printed '$out'"; fi
}
check_natctl

# ------------------------------------------------------------ 3. rendering

for p in "${PAGES[@]}"; do
	name=man_$(tr -c 'A-Za-z0-9\n' '_' <<<"$p")
	f=$MAN/$p
	if [[ ! -f $f ]]; then
		it_fail "${name}_exists" "no man/$p"
		continue
	fi
	missing=""
	for s in NAME DESCRIPTION "SEE ALSO"; do
		grep -q "^\\.SH \"\\{0,1\\}$s\"\\{0,1\\}\$" "$f" || missing="$missing $s"
	done
	# the .TH section is the file's suffix
	grep -q "^\\.TH [^ ]* ${p##*.} " "$f" || missing="$missing .TH-section-${p##*.}"
	# SEE ALSO names of natedge pages exist
	for ref in $(sed -n '/^\.SH "\{0,1\}SEE ALSO/,/^\.SH/p' "$f" | sed -n 's/^\.BR \([a-z.]*\) (\([0-9]\)).*/\1.\2/p'); do
		case $ref in
		natd.8 | sipproxy.8 | natctl.1 | natd.conf.5 | sipproxy.conf.5 | libcontrol.3)
			[[ -f $MAN/$ref ]] || missing="$missing see-also:$ref" ;;
		esac
	done
	if [[ -z $missing ]]; then it_pass "${name}_structure"; else it_fail "${name}_structure" "missing:$missing"; fi

	if command -v groff >/dev/null; then
		w=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
		if [[ -z $w ]]; then it_pass "${name}_groff_clean"; else it_fail "${name}_groff_clean" "$(head -n3 <<<"$w" | paste -sd' ' -)"; fi
	else
		it_skip "${name}_groff_clean" "groff not installed"
	fi
	if command -v mandoc >/dev/null; then
		w=$(mandoc -Tlint -W warning "$f" 2>&1)
		if [[ -z $w ]]; then it_pass "${name}_mandoc_lint"; else it_fail "${name}_mandoc_lint" "$(head -n3 <<<"$w" | paste -sd' ' -)"; fi
	else
		it_skip "${name}_mandoc_lint" "mandoc not installed"
	fi
done

# ------------------------------------------------------------ 4. docs/

DOCS=$NT_ROOT/docs
GLOSSARY=$DOCS/glossary.md
SEEDS=${NT_SEEDS:-$NT_ROOT/../shared/seeds}

check_docs() {
	local anchors claims cited outside links broken paths missing f p
	if [[ ! -f $GLOSSARY ]]; then
		it_fail docs_glossary_exists "no docs/glossary.md"
		return
	fi
	anchors=$(grep -o 'id="claim-[0-9]*"' "$GLOSSARY" | grep -o '[0-9]*' | sort -un)

	# the claims of the patent: the numbered paragraphs after its
	# "Claims" heading (the copy of the seeds that has them)
	claims=""
	if [[ -d $SEEDS ]]; then
		for f in "$SEEDS"/*.txt; do
			claims+=$(awk '/^Claims[[:space:]]*$/ { on = 1; next } on && /ABSTRACT/ { exit }
				on' "$f" | sed -n 's/^\([0-9][0-9]*\)\. .*/\1/p')$'\n'
		done
		claims=$(sed '/^$/d' <<<"$claims" | sort -un)
	fi
	if [[ -z $claims ]]; then
		echo "WARNING: the patent's text ($SEEDS) is not here: the glossary is not checked against it" >&2
		it_skip docs_glossary_names_every_claim "no claims found in $SEEDS (outside the repository)"
	else
		it_info "$(wc -l <<<"$claims") claims in the patent, $(wc -l <<<"$anchors") anchors in docs/glossary.md"
		subset docs_glossary_names_every_claim "the patent's claims" "$claims" "docs/glossary.md anchors" "$anchors"
	fi

	# claim numbers cited anywhere in the tree ("claim 7", "claims 13-14",
	# "claims 13 and 14"); "claims N bytes" is a length field, not a claim
	cited=$(cd "$NT_ROOT" && grep -rhoIE --exclude-dir=.git --exclude-dir=out --exclude-dir=docs \
		'[Cc]laims? [0-9]+(( ?[-,] ?| and | ?\\\(en)[0-9]+)?( bytes)?' \
		natd sipproxy libcontrol tests conf man systemd README.md 2>/dev/null |
		grep -v ' bytes$' | grep -oE '[0-9]+' | sort -un)
	subset docs_glossary_has_every_cited_claim "claim numbers cited in the tree" "$cited" "docs/glossary.md anchors" "$anchors"

	# nothing points outside the repository for its design
	outside=$(cd "$NT_ROOT" && grep -rlIE --exclude-dir=.git --exclude-dir=out \
		'DESIGN\.md|\.\./shared/' natd sipproxy libcontrol tests conf man systemd docs README.md 2>/dev/null |
		grep -v '^tests/integration/docs-check\.sh$')
	if [[ -z $outside ]]; then it_pass docs_no_citation_outside_the_tree; else it_fail docs_no_citation_outside_the_tree "cite DESIGN.md or ../shared: $(oneline "$outside")"; fi

	# links between the docs ([text](file.md#anchor), [text](#anchor))
	broken=""
	for f in "$DOCS"/*.md; do
		while read -r p; do
			local file=${p%%#*} anchor=""
			[[ $p == *#* ]] && anchor=${p#*#}
			[[ -z $file ]] && file=$(basename "$f")
			case $file in http*://*) continue ;; esac
			if [[ ! -e $DOCS/$file ]]; then
				broken+="$(basename "$f"): $p"$'\n'
			elif [[ -n $anchor ]] && ! grep -q "id=\"$anchor\"" "$DOCS/$file" &&
				! grep -qiE "^#+ $(sed 's/-/[ -]/g' <<<"$anchor")\$" "$DOCS/$file"; then
				broken+="$(basename "$f"): $p"$'\n'
			fi
		done < <(grep -oE '\]\([^)]+\)' "$f" | sed 's/^](//; s/)$//')
	done
	if [[ -z $broken ]]; then it_pass docs_links_resolve; else it_fail docs_links_resolve "$(oneline "$broken")"; fi

	# tree paths named in backquotes exist (globs and brace lists skipped)
	paths=$(grep -ohE '`(natd|sipproxy|libcontrol|common|tests|conf|man|systemd|docs)/[^` ]*`' "$DOCS"/*.md |
		tr -d '`' | sed 's/#.*//' | grep -v '[*{]' | sort -u)
	missing=""
	for p in $paths; do
		[[ -e $NT_ROOT/$p ]] || missing+="$p"$'\n'
	done
	if [[ -z $missing ]]; then it_pass docs_paths_exist; else it_fail docs_paths_exist "docs/ names: $(oneline "$missing")"; fi
}
check_docs

it_done
