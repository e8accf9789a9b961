#!/bin/bash
# ha-redis: Redis restarts mid-call under a healthy edge pair (issue 14:
# "losing Redis never stops traffic").
#
# The "ha" topology (tests/net/topo-ha.sh) with both edges up, A active. A
# call phB -> phA with RTP both ways runs through A; Redis is killed
# (SIGKILL) mid-call and, after the active natd noticed, started again
# empty (no persistence: the worst case, a Redis that lost everything).
# Asserted: the call completes with its media unbroken (longest gap under
# 1 s each way, from the same M); natd A kept working from memory and
# counted the writes it lost while Redis was away; after Redis is back, A
# pushed its whole state and B resynchronised in full (the counters say
# so), and B again holds the call's binding with the same id and M; the
# BYE released it everywhere (natd A, natd B, Redis). The same for
# sipproxy's counters when it has HA.
#
# Without natd's HA side (its "ha" section refused by -n) the HA checks
# SKIP with that reason; the call across the Redis restart is still checked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/halib.sh"

ha_require

ha_pair_up
ha_gap_max

export SIP_RTP_COUNT=1000 SIP_RTP_TIMEOUT=30 # 20 s of media each way
ha_call_up r1 22000
if ((HA_NATD)); then
	PUSH0=$(ha_natd_counter A pushes)
	RESYNC0=$(ha_natd_counter B resyncs)
fi

# ---------------------------------------------------------------- Redis dies
# the moment the gaps are measured around (ha_gap_check)
# shellcheck disable=SC2034
HA_KILL_NS=$(date +%s%N)
topo_ha_redis_stop "$IT_PREFIX" "$IT_STATE" KILL
it_log "redis killed"
if ((HA_NATD)); then
	# a change while Redis is away: a binding made (and released) on A
	away() { [[ $(ha_natd_counter A connected) == 0 ]]; }
	it_check natd_a_sees_redis_gone "natd A still says connected 5 s after Redis died" nt_poll 5 away
	it_natctl away-bind --sock "$(it_ctl_socket natdA)" -- bind --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.11:4000 --lifetime 30 >/dev/null
	lost() { local n; n=$(ha_natd_counter A writes_lost); [[ -n $n ]] && ((n > 0)); }
	it_check natd_a_counts_lost_writes "writes_lost stayed '$(ha_natd_counter A writes_lost)'" nt_poll 3 lost
fi
# traffic keeps flowing through A meanwhile
it_check media_flows_without_redis "natd A's call binding stopped carrying packets" nt_poll 3 ha_media_flowing A

# ---------------------------------------------------------------- Redis back, empty
if topo_ha_redis_start "$IT_PREFIX" "$IT_STATE" 2>>"$IT_OUT/topo.log"; then
	it_pass redis_restarted
else
	it_fail redis_restarted "$(tail -n 2 "$IT_OUT/topo.log" | tr '\n' ' ')"
	exit 1
fi
if ((HA_NATD)); then
	pushed() { local n; n=$(ha_natd_counter A pushes); [[ -n $n ]] && ((n > ${PUSH0:-0})); }
	resynced() { local n; n=$(ha_natd_counter B resyncs); [[ -n $n ]] && ((n > ${RESYNC0:-0})); }
	it_check natd_a_full_push_after_redis_back "pushes stayed $(ha_natd_counter A pushes) (was $PUSH0)" nt_poll 10 pushed
	it_check natd_b_full_resync_after_redis_back "resyncs stayed $(ha_natd_counter B resyncs) (was $RESYNC0)" nt_poll 10 resynced
	it_check r1_binding_on_b_again "natd B lacks binding id $HA_ID with $HA_M after the resync" nt_poll 5 ha_replicated
	it_check natd_a_still_active "natd A's role is '$(ha_natd_role A)'" ha_natd_is A active
	it_check r1_record_in_redis_again "no record of the call in the new Redis" \
		nt_poll 5 test -n "$(redis_records_of "$(sip_callid r1-phB)")"
else
	it_skip natd_resync_after_redis_back "natd has no HA (its 'ha' section is refused by natd -n)"
fi

# ---------------------------------------------------------------- the call ends normally
sip_wait r1-phB 100
sip_wait r1-phA 15
sip_wait_probe r1-phB 10
sip_wait_probe r1-phA 10
CALLID=$(sip_callid r1-phB)
sip_assert_call r1_call_completed r1-phB r1-phA
ha_gap_check r1_media_unbroken_phA r1-phA
ha_gap_check r1_media_unbroken_phB r1-phB
sip_assert_media r1_phA_media_only_from_M r1-phA INVITE
sip_assert_no_binding r1_no_binding_left "$CALLID" natdA natdB
if ((HA_NATD)); then
	gone() { [[ -z $(redis_records_of "$CALLID") ]]; }
	it_check r1_no_record_left_in_redis "records: $(redis_records_of "$CALLID" | head -c 200)" nt_poll 5 gone
fi
if ((HA_SIP)); then
	sipc() { sip_proxy_status "$IT_OUT/proxy$1.conf" "$IT_OUT/status-$1.out"; grep -o "\(^\| \)$2=[0-9]*" "$IT_OUT/status-$1.out" | head -n 1 | cut -d= -f2; }
	n=$(sipc B resyncs)
	if [[ -n $n ]] && ((n >= 2)); then it_pass "sipproxy_b_resynced_after_redis_back (resyncs=$n)"
	else it_fail sipproxy_b_resynced_after_redis_back "proxy B's resyncs='$n' (want >= 2: start, and after Redis came back)"; fi
fi
sip_assert_proxy_alive proxy_a_alive proxyA
it_done
