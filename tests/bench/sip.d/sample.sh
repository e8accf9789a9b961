# shellcheck shell=bash
# tests/bench/sip.d/sample.sh -- sourced by tests/bench/sip: what the system
# under test costs, read from /proc without costing the machine itself.
#
# Theory of operation. The benchmark shares two CPUs with the systems it
# measures, so its own sampling is taken from them. The first version found
# the process tree by reading every /proc/PID/stat of the machine and forked
# cat/awk/sed per process four times a second: about 13 % of the machine at
# 2000 calls/s. Here:
#   - the tree (the roots and their direct children: Kamailio's workers) is
#     found once per step, before it is measured (sm_tree); Kamailio's
#     processes do not change during a step;
#   - every read during a step is a bash builtin `read` of a one-line /proc
#     file (stat, statm, schedstat): no fork, no exec; results go to global
#     variables, never through $(...) (a subshell is a fork);
#   - the pause between samples is `read -t` on a FIFO nobody writes
#     (sm_sleep), not sleep(1).
# Per task (thread or process) CPU is snapshotted at the start and the end of
# a step only (sm_tasks_snap) and turned into the per-thread split once the
# step is over (sm_tasks_report, the one awk).
# Prefix sm_. Needs bash >= 4 (fractional read -t, {fd} redirections).

SM_PIDS=()
SM_SLEEP_FD=
SM_PAGE_KB=$(($(getconf PAGESIZE) / 1024))

# sm_init DIR: the FIFO that sm_sleep waits on (opened read-write: never EOF)
sm_init() {
	rm -f "$1/sm.fifo"
	mkfifo -m 0600 "$1/sm.fifo" || return 1
	exec {SM_SLEEP_FD}<>"$1/sm.fifo"
}
# sm_sleep SECONDS: wait without a process
sm_sleep() {
	read -r -t "$1" -u "$SM_SLEEP_FD" _ || true
}

# sm_tree ROOT...: SM_PIDS = the live roots and their direct children
sm_tree() {
	local r l f p
	SM_PIDS=()
	for r in "$@"; do [ -e "/proc/$r/stat" ] && SM_PIDS+=("$r"); done
	(($#)) || return 0
	for f in /proc/[0-9]*/stat; do
		read -r l 2>/dev/null <"$f" || continue
		p=${l%% *}
		l=${l##*) }   # after the comm: state ppid ...
		l=${l#* }     # ppid ...
		[[ " $* " == *" ${l%% *} "* ]] && SM_PIDS+=("$p")
	done
	return 0
}

# sm_cpu: SM_UT, SM_ST = summed utime, stime (ticks, all threads) of SM_PIDS
sm_cpu() {
	local p l f
	SM_UT=0 SM_ST=0
	for p in "${SM_PIDS[@]}"; do
		read -r l 2>/dev/null <"/proc/$p/stat" || continue
		# shellcheck disable=SC2206 # split on purpose; no glob characters in these fields
		f=(${l##*) })
		SM_UT=$((SM_UT + f[11])) SM_ST=$((SM_ST + f[12]))
	done
}
# sm_rss: SM_RSS_KB = summed resident set (statm's second field = VmRSS)
sm_rss() {
	local p res
	SM_RSS_KB=0
	for p in "${SM_PIDS[@]}"; do
		read -r _ res _ 2>/dev/null <"/proc/$p/statm" || continue
		SM_RSS_KB=$((SM_RSS_KB + res * SM_PAGE_KB))
	done
}
# sm_runq: SM_RUNQ_NS = summed time every thread of SM_PIDS waited for a CPU
# while runnable (the second field of /proc/PID/task/TID/schedstat)
sm_runq() {
	local p f wait
	SM_RUNQ_NS=0
	for p in "${SM_PIDS[@]}"; do
		for f in /proc/"$p"/task/*/schedstat; do
			read -r _ wait _ 2>/dev/null <"$f" || continue
			SM_RUNQ_NS=$((SM_RUNQ_NS + wait))
		done
	done
}

# sm_tasks_snap FILE: one line per thread of SM_PIDS: "PID TID COMM TICKS"
# (comm without spaces)
sm_tasks_snap() {
	local p f l c tid
	{
		for p in "${SM_PIDS[@]}"; do
			for f in /proc/"$p"/task/*/stat; do
				read -r l 2>/dev/null <"$f" || continue
				tid=${l%% *}
				c=${l#*(} c=${c%)*} c=${c// /_}
				# shellcheck disable=SC2206 # as in sm_cpu
				l=(${l##*) })
				printf '%s %s %s %s\n' "$p" "$tid" "$c" $((l[11] + l[12]))
			done
		done
	} >"$1"
}

# sm_tasks_report BEFORE AFTER WALL_NS: how the CPU of the step split, in % of
# one CPU. Prints two fields: "MAIN/OTHER" (for the largest program: its main
# thread against its other threads when it is one process (sipproxy), its
# busiest process against the others when it is several (Kamailio)) and the
# detail: per program (comm of the process), its tasks' % in descending
# order, threads other than the main one named by their comm ("thread:" when
# unnamed), e.g. "sipproxy 92 sp-tx:38 (2)|natd 1" or
# "kamailio 21 20 19 ... (13)". Tasks under 0.5 % are left out of the list.
sm_tasks_report() {
	awk -v wall="$3" -v hz="${HZ:-100}" '
		FNR == NR { t0[$2] = $4; next }
		{
			d = $4 - ((($2) in t0) ? t0[$2] : 0)
			pct = 100 * d / hz / (wall / 1e9)
			if ($1 == $2) pname[$1] = $3
			n++; tp[n] = $1; tt[n] = $2; tc[n] = $3; tv[n] = pct
		}
		END {
			# programs: processes grouped by the main threads comm
			for (i = 1; i <= n; i++) {
				pn = pname[tp[i]]; if (pn == "") pn = tc[i]
				sum[pn] += tv[i]
				if (!(pn in seen)) { seen[pn] = 1; order[++np] = pn }
				# a thread other than the main one: its comm, "thread" if it has none of its own
				lab = (tp[i] == tt[i]) ? "" : ((tc[i] == pn) ? "thread:" : tc[i] ":")
				cnt[pn]++; k = cnt[pn]; v[pn, k] = tv[i]; l[pn, k] = lab
				if (!((pn, tp[i]) in pseen)) { pseen[pn, tp[i]] = 1; nproc[pn]++ }
				if (tp[i] == tt[i]) mainv[pn] = tv[i]
			}
			big = ""; for (j = 1; j <= np; j++) if (big == "" || sum[order[j]] > sum[big]) big = order[j]
			# one process: its main thread; several (Kamailio): the busiest process
			top = 0
			if (nproc[big] == 1) top = mainv[big]
			else for (k = 1; k <= cnt[big]; k++) if (v[big, k] > top) top = v[big, k]
			split_ = (big == "") ? "-" : sprintf("%.0f/%.0f", top, sum[big] - top)
			# programs in descending order of their sum
			for (a = 1; a <= np; a++) for (b = a + 1; b <= np; b++) if (sum[order[b]] > sum[order[a]]) {
				x = order[a]; order[a] = order[b]; order[b] = x
			}
			out = ""
			for (j = 1; j <= np; j++) {
				pn = order[j]; m = cnt[pn]
				# descending by %
				for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[pn, b] > v[pn, a]) {
					x = v[pn, a]; v[pn, a] = v[pn, b]; v[pn, b] = x
					x = l[pn, a]; l[pn, a] = l[pn, b]; l[pn, b] = x
				}
				s = pn
				for (a = 1; a <= m; a++) if (v[pn, a] >= 0.5 || a == 1) s = s " " l[pn, a] sprintf("%.0f", v[pn, a])
				if (m > 1) s = s " (" m ")"
				out = out (out == "" ? "" : "|") s
			}
			print split_, out
		}' "$1" "$2"
}
