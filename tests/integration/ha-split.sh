#!/bin/bash
# ha-split: a partition between the two edges of a pair (issue 14: "no
# split brain").
#
# The "ha" topology (tests/net/topo-ha.sh), both edges up, A MASTER and
# active. The HA LAN is split between the edges (their bridge ports
# isolated from each other; both still reach Redis): VRRP adverts are lost
# both ways, so B becomes MASTER as well and its notify hook promotes it.
# Asserted, sampling both natds' role and epoch from the split to the heal
# (as fast as natctl answers): never two active natds holding one epoch; B's promotion takes a newer epoch and A,
# whose next write finds that epoch in Redis, demotes itself (one active
# natd within a few seconds); the notify hook's check (vrrp_script) lowers
# the fenced A's VRRP priority. When the partition heals, VRRP settles on
# one MASTER, and it is B -- the owner of the epoch -- with its natd active
# and A BACKUP with its natd standby; a call then goes through.
#
# Without natd's HA side (its "ha" section refused by -n) the fencing
# checks SKIP with that reason; the VRRP split and heal are still checked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/halib.sh"

ha_require

ha_pair_up
EPOCH_A=$(ha_natd_epoch A)

# the sampler: both natds' role and epoch, one line "ms roleA epochA roleB
# epochB" per round to roles.txt, in the background for at most 120 s
role_epoch() {
	timeout 5 "$NT_NATCTL" -s "$(it_ctl_socket "natd$1")" ha status 2>>"$IT_OUT/roles-natctl-$1.err" |
		awk '$1 == "ha_active" { r = ($2 == 1 ? "active" : "standby") } $1 == "ha_epoch" { e = $2 }
		     END { print (r == "" ? "-" : r), (e == "" ? "-" : e) }'
}
sampler() {
	local end=$((SECONDS + 120))
	while ((SECONDS < end)) && [[ ! -e $IT_OUT/sampler.stop ]]; do
		# one natctl call per natd: its role and epoch of the same moment
		echo "$(date +%s%3N) $(role_epoch A) $(role_epoch B)" >>"$IT_OUT/roles.txt"
		nt_poll 0.1 false
	done
}
: >"$IT_OUT/roles.txt"
rm -f "$IT_OUT/sampler.stop"
if ((HA_NATD)); then
	sampler &
	SAMPLER=$!
	IT_PIDS+=("$SAMPLER")
fi

# ---------------------------------------------------------------- the split
topo_ha_partition "$IT_PREFIX" on || { it_fail partition "bridge port isolation refused"; exit 1; }
it_log "partition: edges isolated on the HA LAN"
both_master() { [[ $(ha_vrrp_state A) == MASTER && $(ha_vrrp_state B) == MASTER ]]; }
it_check split_both_vrrp_master "VRRP A $(ha_vrrp_state A), B $(ha_vrrp_state B)" nt_poll 5 both_master
if ((HA_NATD)); then
	# B promoted (a newer epoch), A demoted by its next write
	fenced() {
		local e
		e=$(ha_natd_epoch B)
		ha_natd_is A standby && ha_natd_is B active && [[ -n $e && -n $EPOCH_A ]] && ((e > EPOCH_A))
	}
	if nt_poll 15 fenced; then
		it_pass "split_b_owns_newer_epoch_a_demoted ($EPOCH_A -> $(ha_natd_epoch B))"
	else
		it_fail split_b_owns_newer_epoch_a_demoted "natd A '$(ha_natd_role A)' epoch $(ha_natd_epoch A), B '$(ha_natd_role B)' epoch $(ha_natd_epoch B), before $EPOCH_A"
	fi
	it_check split_a_priority_lowered "keepalived A never lowered its priority (natedge_fenced)" \
		nt_poll 30 grep -q 'effective priority from 110 to 60' "$IT_OUT/keepalived-A.log"
else
	it_skip split_fencing "natd has no HA (its 'ha' section is refused by natd -n): nothing fences the second MASTER"
fi

# ---------------------------------------------------------------- the heal
topo_ha_partition "$IT_PREFIX" off
it_log "partition healed"
one_master() {
	local a b
	a=$(ha_vrrp_state A) b=$(ha_vrrp_state B)
	[[ $a == MASTER && $b != MASTER ]] || [[ $b == MASTER && $a != MASTER ]]
}
if nt_poll 10 one_master; then
	M=B
	[[ $(ha_vrrp_state A) == MASTER ]] && M=A
	it_pass "heal_one_vrrp_master ($M)"
	S=A
	[[ $M == A ]] && S=B
	it_check heal_master_alone_holds_addresses "addresses on A: $(ip -n "$(it_ns edgeA)" -4 -o addr | awk '{print $4}' | tr '\n' ' ')B: $(ip -n "$(it_ns edgeB)" -4 -o addr | awk '{print $4}' | tr '\n' ' ')" \
		nt_poll 3 eval "ha_has_vips $M && ha_no_vip $S"
	if ((HA_NATD)); then
		if [[ $M == B ]]; then it_pass heal_master_is_epoch_owner
		else it_fail heal_master_is_epoch_owner "A is MASTER again, natd A '$(ha_natd_role A)', B '$(ha_natd_role B)'"; fi
		consistent() { ha_natd_is "$M" active && ha_natd_is "$S" standby; }
		it_check heal_roles_consistent "natd $M '$(ha_natd_role "$M")', natd $S '$(ha_natd_role "$S")'" nt_poll 10 consistent
	fi
else
	it_fail heal_one_vrrp_master "VRRP A $(ha_vrrp_state A), B $(ha_vrrp_state B) 10 s after the heal"
fi
if ((HA_NATD)); then
	touch "$IT_OUT/sampler.stop"
	nt_poll 15 nt_pid_gone "$SAMPLER"
	# a natd that did not answer: say how it looked (state, where it waits)
	for x in A B; do
		n=$(grep -c "^[0-9]* $( [[ $x == B ]] && echo '[a-z-]* [0-9-]* ')- " "$IT_OUT/roles.txt")
		if ((n > 0)); then
			pid=$(nt_natd_pid "$IT_STATE" "natd$x")
			it_info "natd $x did not answer natctl in $n samples: $(grep -m1 . "$IT_OUT/roles-natctl-$x.err" 2>/dev/null); process: $(grep '^State' "/proc/$pid/status" 2>/dev/null | tr -s '\t ' ' ') wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
		fi
	done
	dup=$(awk '$2 == "active" && $4 == "active" && $3 == $5' "$IT_OUT/roles.txt" | head -n 3)
	if [[ -z $dup ]]; then it_pass "never_two_active_of_one_epoch ($(wc -l <"$IT_OUT/roles.txt") samples of both natds, split to heal)"
	else it_fail never_two_active_of_one_epoch "samples (ms roleA epochA roleB epochB): $(tr '\n' ';' <<<"$dup")"; fi
fi

# a call after the heal
export SIP_RTP_COUNT=100
# shellcheck disable=SC2034 # read by sip_basic_call (siplib.sh)
SIP_UAC_OPTS=(--auth phoneb)
sip_basic_call h1-phB phB 10.1.0.10 20200 h1-phA phA 203.0.113.10 30200 "$HA_VIP_IN:5060" 203.0.113.10:5060
sip_assert_call h1_call_after_heal h1-phB h1-phA
sip_assert_media h1_media_phA h1-phA INVITE
sip_assert_media h1_media_phB h1-phB
it_done
