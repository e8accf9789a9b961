/* libcontrol/proto.h: the natedge control-channel wire format, version 1.
 *
 * This header is the specification. A third party can implement a client
 * or a server from it alone; libcontrol's codec (libcontrol/msg.h) is one
 * implementation of it.
 *
 * 1. Transport
 *
 * A connection is a reliable byte stream: a Unix stream socket (authorised
 * by the server from SO_PEERCRED) or TCP (authorised by the HELLO/AUTH
 * exchange below). Both sides send whole messages back to back; there is
 * no other framing. Every integer is big-endian (network order). There is
 * no padding anywhere.
 *
 * 2. Message header (16 bytes)
 *
 *   offset size field
 *   0      2    magic       0x4E 0x43 ("NC")
 *   2      1    version     1 (NC_PROTO_VERSION)
 *   3      1    flags       0 in version 1; a receiver refuses other values
 *   4      2    type        NC_MSG_* below
 *   6      2    reserved    0; a receiver refuses other values
 *   8      4    length      whole message in bytes, header included,
 *                           16 <= length <= 65536 (NC_MSG_MAX)
 *   12     4    request id  chosen by the client, echoed by the server
 *
 * The positions of magic, version and length never change in any future
 * version, so a receiver can always cut a message out of the stream
 * (magic + length) before it looks at the version, and answer a version
 * it does not speak with UNSUPPORTED instead of dropping the connection.
 *
 * 3. Body: a sequence of TLVs filling the rest of the message exactly
 *
 *   offset size field
 *   0      2    type        NC_T_*; bit 15 (NC_T_CRITICAL) is the
 *                           "critical" bit and part of the type number
 *   2      2    length      of the value in bytes (the 4-byte TLV header
 *                           not included)
 *   4      len  value
 *
 * Rules, all enforced by a strict receiver:
 *  - The TLVs end exactly at the end of the message (no partial TLV, no
 *    trailing bytes); a TLV whose value runs past the end is an error.
 *  - TLVs appear in non-decreasing order of their 16-bit type. A type
 *    not marked repeatable below appears at most once; the instances of a
 *    repeatable type are adjacent and their order is significant.
 *  - A TLV type the receiver does not know is skipped when its critical
 *    bit is clear and refused (UNSUPPORTED) when it is set. A known TLV
 *    in a message where the table below does not allow it is an error.
 *  - Each known TLV has a value of exactly the layout given below; any
 *    other length is an error, and so is any value outside its range.
 *  - Every optional TLV has a value that cannot mean "absent" (a lifetime
 *    is >= 1, a string is not empty, ...), so each message has exactly
 *    one encoding: decoding and re-encoding reproduces the bytes (apart
 *    from skipped unknown TLVs).
 *  - In replies, the "result" TLVs are present when STATUS is OK (those
 *    marked required must be) and absent otherwise.
 *
 * 4. Value layouts
 *
 *   u8/u16/u32/u64  1/2/4/8 bytes, big-endian.
 *   flag     no value (length 0): presence means "yes".
 *   text     UTF-8 bytes then one NUL; the NUL is counted in the length
 *            and is the last byte. 1..255 bytes before it (NC_TEXT_MAX),
 *            valid UTF-8 (RFC 3629: shortest form, no surrogates, nothing
 *            above U+10FFFF), no control characters (U+0000..U+001F,
 *            U+007F..U+009F), so no embedded NUL.
 *   name     like text, 1..63 bytes (NC_NAME_MAX) of [A-Za-z0-9._-].
 *   addr     family-dependent: 4 bytes for NC_AF_IP4, 16 for NC_AF_IP6.
 *   ep       u8 family (NC_AF_*), u8 0, u16 port, addr.  8 or 20 bytes.
 *            port >= 1 except in an ICMP binding (port = query id).
 *   match    u8 family, u8 prefix length (<= 32 or 128), u16 port_lo,
 *            u16 port_hi, addr.  10 or 22 bytes.  Matches a remote whose
 *            address is inside addr/plen (host bits must be zero) and whose
 *            port is in port_lo..port_hi (port_lo <= port_hi; 0..65535 is
 *            "any port").
 *   target   match then ep (the families may differ).
 *   stat     u64 value then a name (NUL-terminated, as above).
 *   u16list  1..128 (NC_CAP_MAX) u16s.
 *
 * 5. Conversation
 *
 * The client sends requests (types 0x0001..0x00ff), each with a request id
 * it chooses, non-zero and not in use by another request it still waits
 * for (a WATCH's id stays in use until the connection closes). Any number
 * of requests may be in flight; the server may answer them in any order,
 * and messages answering different requests may interleave. Each request
 * gets exactly one reply, of type
 * (request type | NC_MSG_REPLY) and the same request id, and nothing for
 * it follows that reply, except that:
 *  - LIST is answered by zero or more LIST_ITEM messages and then its
 *    LIST reply (whose COUNT is the number of items sent);
 *  - WATCH is answered by its reply, then EVENT messages carrying the
 *    WATCH's request id for as long as the connection lasts.
 * A request of a known type that fails to decode is answered by its own
 * reply type with UNSUPPORTED (unknown critical TLV) or BAD_REQUEST
 * (anything else) and no results. A request the server cannot attribute
 * to a known type (unknown type, unknown version, a reply type sent by a
 * client) is answered by NC_MSG_ERROR (0x8000) with the request id of the
 * offending header and a non-OK status. A byte stream the
 * server cannot frame (bad magic, bad length) is answered, when possible,
 * by NC_MSG_ERROR with request id 0, and the connection is closed.
 *
 * Every reply carries STATUS, EPOCH and optionally REASON. EPOCH is a
 * non-zero number natd picks at start: a client that sees it change knows
 * natd restarted and its bindings are gone. REFRESH and RELEASE carry the
 * EPOCH the binding was created under and fail with STALE_EPOCH when it
 * is not the current one, so a reused binding id is never touched.
 *
 * The first request on a connection is HELLO. If its reply carries
 * AUTH_NONCE, the server requires authentication: the next request is
 * AUTH and every other request before AUTH succeeds gets NOT_AUTHORIZED.
 * HELLO is said once per connection: a second one (after HELLO, or while
 * AUTH is awaited) gets BAD_REQUEST and changes nothing. Over TCP the
 * HELLO NAME is the client's name, 1 to 59 bytes of [A-Za-z0-9._-]; any
 * other gets BAD_REQUEST and the connection is closed. natd closes a
 * connection that has not completed HELLO (and AUTH) within its
 * control.handshake_timeout, and one that leaves more than its
 * control.max_output of replies or events unread.
 *
 * 6. Authentication (TCP; a non-empty shared secret K of any length)
 *
 *   server -> HELLO reply: AUTH_NONCE Ns (32 random bytes)
 *   client -> AUTH: AUTH_NONCE Nc (32 random bytes),
 *                   AUTH_MAC = HMAC-SHA256(K, "natedge-auth-v1" | 'C' | Ns | Nc)
 *   server -> AUTH reply OK: AUTH_MAC = HMAC-SHA256(K, "natedge-auth-v1" | 'S' | Ns | Nc)
 *             or NOT_AUTHORIZED (and closes the connection).
 * '|' is concatenation; the label is the 15 ASCII bytes without a NUL; 'C'
 * and 'S' are one byte each. The client checks the server's MAC, so both
 * sides prove knowledge of K. The exchange authenticates the peer only:
 * it neither encrypts nor protects later messages (see README).
 *
 * 7. Bindings (see docs/design.md, "The binding model"; docs/glossary.md)
 *
 * A binding pairs endpoint E (ENDPOINT) in realm R1 (IN_REALM) with an
 * allocated endpoint M (ALLOC) in realm R2 (EXT_REALM), for one protocol.
 * DIRECTION says what it translates: TERM, packets reaching M from R2 go
 * to E (M is E's terminating address); ORIG, packets from E into R2 leave
 * with source M (M is E's originating address); BOTH, one M for both.
 * E need not be the requester's own address. Options of BIND:
 *  - WANT_ADDR (M's address is addr, or inside addr/plen), WANT_RANGE (M's
 *    address in lo..hi), WANT_PORT (M's port), RTP_PAIR (M's port is even
 *    and port+1 is reserved for the same owner, who may bind it with a
 *    second BIND naming that address and port);
 *  - PREFER_FAILURE: fail (EXHAUSTED or CONFLICT) rather than allocate an
 *    M that does not meet every WANT_* / RTP_PAIR; without it they are
 *    preferences;
 *  - FILTER (TERM): translate inbound only when the remote source matches
 *    one of the entries (remote filter);
 *  - LATCH (with FILTER): a learning window of that many seconds for a
 *    far end behind its own NAT, whose media comes from another address
 *    than it signalled: the first remote source address seen within the
 *    window after the binding is made (or its BIND repeated) is latched,
 *    and from then on only that address (any port) is admitted; if the
 *    window passes with nothing seen, FILTER alone applies. LATCH is
 *    critical, so a natd that predates it refuses the BIND (UNSUPPORTED)
 *    rather than admit more than asked; CAPS lists it when supported;
 *  - TARGET (TERM): a remote source matching target.match goes to
 *    target.ep instead of E; the first matching TARGET wins; others go to
 *    E, or are dropped when DROP_DEFAULT is present (alternative
 *    targets). FILTER applies before TARGET;
 *  - PEER (ORIG): the originating translation applies only to packets
 *    whose destination matches PEER;
 *  - TRANSIT: M comes from the pool of the named transit network, forcing
 *    the media through it (transit pool);
 *  - LIFETIME: requested lease in seconds (the reply gives the granted
 *    one); the owner refreshes it with REFRESH before it runs out;
 *  - LABEL: free text shown by LIST (a call id, an AOR...).
 * A BIND must be consistent: PROTO UDP or TCP; RTP_PAIR with an odd
 * WANT_PORT, WANT_ADDR with WANT_RANGE, FILTER/TARGET/DROP_DEFAULT
 * without TERM, DROP_DEFAULT without TARGET, PEER without ORIG, LATCH
 * without FILTER are errors.
 *
 * 8. Messages and their TLVs
 *    R required, O optional, * repeatable (maximum), r/o: result TLVs of
 *    a reply (present only with STATUS OK). Every reply also has
 *    STATUS R, EPOCH R and REASON O.
 *
 *   HELLO     NAME O (client software)
 *   HELLO_R   NAME o (server software), AUTH_NONCE o (auth required)
 *   AUTH      AUTH_NONCE R, AUTH_MAC R
 *   AUTH_R    AUTH_MAC r
 *   CAPS      (empty)
 *   CAPS_R    CAP_MSGS r, CAP_TLVS r, LIFETIME_MAX r, QUOTA o,
 *             TRANSIT o*32, REALM o*32
 *   BIND      LABEL O, DIRECTION R, PROTO R, IN_REALM R, EXT_REALM R,
 *             ENDPOINT R, WANT_ADDR O, WANT_RANGE O, WANT_PORT O,
 *             RTP_PAIR O, PREFER_FAILURE O, LIFETIME O, TRANSIT O, PEER O,
 *             FILTER O*16, TARGET O*16, DROP_DEFAULT O, LATCH O
 *   BIND_R    BINDING_ID r, ALLOC r, LIFETIME r (granted)
 *   REFRESH   EPOCH R, BINDING_ID R, LIFETIME O
 *   REFRESH_R LIFETIME r (granted)
 *   RELEASE   EPOCH R, BINDING_ID R
 *   RELEASE_R (nothing more)
 *   LIST      BINDING_ID O (just that one), KIND O, MINE O (only the
 *             requester's)
 *   LIST_ITEM LABEL O, OWNER O, COUNTERS O, BINDING_ID R, KIND R,
 *             DIRECTION R, PROTO R, IN_REALM R, EXT_REALM R, ENDPOINT R,
 *             ALLOC R, LIFETIME O (seconds left, >= 1; absent: no
 *             expiry), TRANSIT O, PEER O, FILTER O*16, TARGET O*16,
 *             DROP_DEFAULT O, LATCH O
 *   LIST_R    COUNT r
 *   STATS     (empty)
 *   STATS_R   STAT o*256
 *   WATCH     EVENT_MASK O (absent: every event)
 *   WATCH_R   (nothing more)
 *   EVENT     EVENT_TYPE R and everything LIST_ITEM has
 *   HA        NAME O ("promote" or "demote"; absent: only the status).
 *             Administrators only (NOT_AUTHORIZED otherwise). Added after
 *             version 1's first release: a server without HA answers
 *             NC_MSG_ERROR (not a request it knows) or UNSUPPORTED.
 *   HA_R      STAT o*256 (the ha_* counters: role, epoch, lag, writes...)
 *   ERROR     (nothing more; STATUS is not OK)
 *
 * Request ids are non-zero in every message except ERROR.
 */
#ifndef LIBCONTROL_PROTO_H
#define LIBCONTROL_PROTO_H

/* Header. */
#define NC_MAGIC0 0x4E
#define NC_MAGIC1 0x43
#define NC_PROTO_VERSION 1
#define NC_HDR_LEN 16
#define NC_MSG_MAX 65536

/* Limits. */
#define NC_TEXT_MAX 255   /* bytes of a text value, NUL excluded */
#define NC_NAME_MAX 63    /* bytes of a name value, NUL excluded */
#define NC_FILTER_MAX 16  /* FILTER TLVs in one binding */
#define NC_TARGET_MAX 16  /* TARGET TLVs in one binding */
#define NC_STATS_MAX 256  /* STAT TLVs in one reply */
#define NC_LIST_MAX 32    /* REALM, and TRANSIT, TLVs in one CAPS reply */
#define NC_CAP_MAX 128    /* entries of a u16list */
#define NC_NONCE_LEN 32
#define NC_MAC_LEN 32
#define NC_LIFETIME_MAX 604800 /* seconds (7 days): upper bound of LIFETIME */
#define NC_LATCH_MAX 3600      /* seconds: upper bound of LATCH */

/* Message types. */
#define NC_MSG_HELLO 0x0001
#define NC_MSG_AUTH 0x0002
#define NC_MSG_CAPS 0x0003
#define NC_MSG_BIND 0x0004
#define NC_MSG_REFRESH 0x0005
#define NC_MSG_RELEASE 0x0006
#define NC_MSG_LIST 0x0007
#define NC_MSG_STATS 0x0008
#define NC_MSG_WATCH 0x0009
#define NC_MSG_HA 0x000a /* HA pair: status, promote, demote (natd with ha.enabled) */
#define NC_MSG_REPLY 0x8000 /* bit: the final answer to a request */
#define NC_MSG_PART 0x4000  /* bit: an answer that precedes (LIST) or follows (WATCH) it */
#define NC_MSG_ERROR NC_MSG_REPLY /* answer to an unattributable request */
#define NC_MSG_HELLO_R (NC_MSG_REPLY | NC_MSG_HELLO)
#define NC_MSG_AUTH_R (NC_MSG_REPLY | NC_MSG_AUTH)
#define NC_MSG_CAPS_R (NC_MSG_REPLY | NC_MSG_CAPS)
#define NC_MSG_BIND_R (NC_MSG_REPLY | NC_MSG_BIND)
#define NC_MSG_REFRESH_R (NC_MSG_REPLY | NC_MSG_REFRESH)
#define NC_MSG_RELEASE_R (NC_MSG_REPLY | NC_MSG_RELEASE)
#define NC_MSG_LIST_R (NC_MSG_REPLY | NC_MSG_LIST)
#define NC_MSG_STATS_R (NC_MSG_REPLY | NC_MSG_STATS)
#define NC_MSG_WATCH_R (NC_MSG_REPLY | NC_MSG_WATCH)
#define NC_MSG_HA_R (NC_MSG_REPLY | NC_MSG_HA)
#define NC_MSG_LIST_ITEM (NC_MSG_PART | NC_MSG_LIST)
#define NC_MSG_EVENT (NC_MSG_PART | NC_MSG_WATCH)

/* TLV types. Bit 15 set: critical (a receiver that does not know the type
 * must refuse the message). Value layout and where each may appear: see
 * sections 4 and 8 above. */
#define NC_T_CRITICAL 0x8000
#define NC_T_NAME 0x0001           /* text: software name (HELLO, HELLO_R) */
#define NC_T_REASON 0x0002         /* text: short human reason (replies) */
#define NC_T_LABEL 0x0003          /* text: the owner's note on a binding */
#define NC_T_OWNER 0x0004          /* text: who owns a binding (LIST_ITEM, EVENT) */
#define NC_T_COUNTERS 0x0005       /* 4 x u64: pkts_in, bytes_in, pkts_out, bytes_out */
#define NC_T_STATUS 0x8001         /* u16: NC_ST_* */
#define NC_T_EPOCH 0x8002          /* u64, >= 1 */
#define NC_T_AUTH_NONCE 0x8003     /* 32 bytes */
#define NC_T_AUTH_MAC 0x8004       /* 32 bytes */
#define NC_T_BINDING_ID 0x8010     /* u32, >= 1 */
#define NC_T_KIND 0x8011           /* u8: NC_KIND_* */
#define NC_T_DIRECTION 0x8012      /* u8: NC_DIR_* */
#define NC_T_PROTO 0x8013          /* u8: NC_PROTO_* */
#define NC_T_IN_REALM 0x8014       /* name: R1, realm of ENDPOINT */
#define NC_T_EXT_REALM 0x8015      /* name: R2, realm of ALLOC */
#define NC_T_ENDPOINT 0x8016       /* ep: E */
#define NC_T_ALLOC 0x8017          /* ep: M */
#define NC_T_WANT_ADDR 0x8018      /* u8 family, u8 plen, addr: M inside addr/plen */
#define NC_T_WANT_RANGE 0x8019     /* u8 family, u8 0, addr lo, addr hi (lo <= hi) */
#define NC_T_WANT_PORT 0x801A      /* u16, >= 1 */
#define NC_T_RTP_PAIR 0x801B       /* flag */
#define NC_T_PREFER_FAILURE 0x801C /* flag */
#define NC_T_LIFETIME 0x801D       /* u32 seconds, 1..NC_LIFETIME_MAX */
#define NC_T_TRANSIT 0x801E        /* name: transit network */
#define NC_T_PEER 0x801F           /* match */
#define NC_T_FILTER 0x8020         /* match, repeatable */
#define NC_T_TARGET 0x8021         /* target, repeatable */
#define NC_T_DROP_DEFAULT 0x8022   /* flag */
#define NC_T_MINE 0x8023           /* flag */
#define NC_T_COUNT 0x8024          /* u32 */
#define NC_T_STAT 0x8025           /* stat, repeatable */
#define NC_T_CAP_MSGS 0x8026       /* u16list: message types the server handles */
#define NC_T_CAP_TLVS 0x8027       /* u16list: TLV types the server understands */
#define NC_T_REALM 0x8028          /* name, repeatable */
#define NC_T_LIFETIME_MAX 0x8029   /* u32 seconds, >= 1 */
#define NC_T_QUOTA 0x802A          /* u32, >= 1: bindings one client may hold */
#define NC_T_EVENT_TYPE 0x802B     /* u8: NC_EV_* */
#define NC_T_EVENT_MASK 0x802C     /* u32: non-zero set of (1 << (NC_EV_* - 1)) */
#define NC_T_LATCH 0x802D          /* u32 seconds, 1..NC_LATCH_MAX: FILTER's learning window */

/* Address families (IANA address family numbers). */
#define NC_AF_IP4 1
#define NC_AF_IP6 2

/* DIRECTION. */
#define NC_DIR_TERM 1 /* inbound: M (in R2) reaches E (in R1) */
#define NC_DIR_ORIG 2 /* outbound: E's packets carry source M in R2 */
#define NC_DIR_BOTH 3

/* PROTO (IANA protocol numbers). ICMP appears only in LIST_ITEM/EVENT. */
#define NC_PROTO_ICMP 1
#define NC_PROTO_TCP 6
#define NC_PROTO_UDP 17

/* KIND. */
#define NC_KIND_DYNAMIC 1 /* created by an inside-initiated flow */
#define NC_KIND_STATIC 2  /* from natd's configuration */
#define NC_KIND_MANAGED 3 /* requested over the control channel */

/* EVENT_TYPE. */
#define NC_EV_CREATED 1
#define NC_EV_REFRESHED 2
#define NC_EV_RELEASED 3
#define NC_EV_EXPIRED 4
#define NC_EV_ALL 0xf /* EVENT_MASK with every event */

/* STATUS: what happened, never where in the code. */
#define NC_ST_OK 0
#define NC_ST_BAD_REQUEST 1     /* malformed or inconsistent request */
#define NC_ST_UNSUPPORTED 2     /* unknown version, type, critical TLV or feature */
#define NC_ST_NOT_AUTHORIZED 3  /* not authenticated, or not allowed to do that */
#define NC_ST_QUOTA_EXCEEDED 4  /* the client holds as many bindings as it may */
#define NC_ST_EXHAUSTED 5       /* no free address/port fits (or table full) */
#define NC_ST_CONFLICT 6        /* the exact address/port asked for is taken, or
				 * the request id is already in use */
#define NC_ST_NOT_FOUND 7       /* no such binding (or not the requester's) */
#define NC_ST_UNKNOWN_REALM 8   /* a realm or transit network name is unknown */
#define NC_ST_STALE_EPOCH 9     /* the request's EPOCH is not natd's current one */
#define NC_ST_TRY_AGAIN 10      /* transient: retry later */
#define NC_ST_INTERNAL 11       /* natd failed; not the client's fault */
#define NC_ST_MAX 11

/* Authentication label (section 6), without a NUL. */
#define NC_AUTH_LABEL "natedge-auth-v1"

#endif
