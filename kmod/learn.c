// SPDX-License-Identifier: GPL-2.0
/*
 * Learning: which inside host owns an inbound SPI that no binding names.
 *
 * The gateway sees every SA start, but only an outbound SA names its host
 * (by source address). An inbound SPI was chosen by some inside host and
 * sent to the peer encrypted, so the gateway binds one only when the wire
 * leaves a single possible owner; otherwise it holds (drops and counts) the
 * SPI's packets: IPsec tolerates loss, not misdelivery. The rules, in the
 * order README "How learning works" states them:
 *
 *  1. Strangers. An unknown SPI from peer P to public address A is noted in
 *     the (P, A) slot's small table, and only from the interface that holds
 *     A. One that shows a live SA (a second packet, rising sequence number)
 *     is credible; random or replayed SPIs never are. A spray that keeps
 *     the table full does not keep a real SA out (glimpsed()); a stranger
 *     silent for STRANGER_TTL makes room for others.
 *  2. Candidates. Every flow (H, P) on the slot may own it, except a flow
 *     that kept receiving on its known SAs after the stranger appeared: a
 *     peer sends a flow's traffic on its newest SA only, so the owner's old
 *     SA went quiet when the stranger started. Flows seen using several SAs
 *     at once (back on an older SA a second after a newer one) are never
 *     excluded this way. A flow that sprays SPIs (many new outbound SAs
 *     that carry one packet each, no inbound SA since it was made) is
 *     passed over for the peer's new SA when one other candidate is left
 *     and it pairs (3b, 3c; in 3c a stranger that another candidate pairs
 *     with too does not count against it); it never wins by elimination
 *     (3a), so that a forged SPI cannot bind to it. A flow's new outbound
 *     SA or exchange stops being evidence once an inbound SA is bound to
 *     it (or, for an exchange, once a new IKE SA shows it rekeyed IKE).
 *  3. Bind when the owner is certain:
 *     a. a credible stranger has one candidate left, and no inside host
 *        without a flow here ran IKE with the peer just then (else the
 *        candidate must also have started a new SA near it). If it did,
 *        it binds as a pair (c); if not, see eliminated();
 *     b. a credible fresh stranger is the only one that started during the
 *        slot's IKE turn, and the turn's flow is the only candidate that
 *        started anything near it: no other flow may run a child-creating
 *        exchange meanwhile (rule 4);
 *     c. a fresh pair: one candidate, and only it, started a new outbound
 *        SA or an IKE exchange shortly before the stranger or while it waits
 *        (the host of a peer-first rekey switches too), it pairs with no
 *        other credible stranger (one of the two may be forged), and a
 *        settle time has passed since both
 *        (so that its own stranger, had it one, would have shown up).
 *        A flow whose host sent its IKE messages of late only after the
 *        stranger started, and the outbound SA they made, are no pair for
 *        it: causality.
 *     An SA already in use (not fresh: the table was lost) binds (a, c)
 *     only while no other such SA flows on the slot.
 *     Otherwise hold and count `ambiguous`.
 *  4. Turns. Per slot, one new host at a time may have an unanswered first
 *     outbound SA (other new hosts are held back) and one flow at a time
 *     may run an IKEv2 CREATE_CHILD_SA exchange: another host's request,
 *     or its response to the peer's request, is held in the gateway while
 *     the turn lasts, LEARN_HOLD at most, and sent in the order held. A
 *     held message is no evidence; the peer's requests are never held.
 *     A turn ends when its flow learns, LEARN_IKE_SETTLE after its IKE
 *     exchange was answered, or after a bounded time; neither
 *     traffic nor a new SA renews it, and a flow whose turn ran out while
 *     another waited lets that one go first.
 *  A binding that did not answer the host's own new outbound SA stays
 *  unconfirmed (pending, at most LEARN_UNCONFIRMED per flow at a time) until
 *  the host sends on a newer outbound SA; its traffic is no evidence.
 *  5. Forwards. A credible stranger to an address where no inside host talks
 *     to its peer goes to the address's forward server, at most
 *     IPSECNAT_FWD_UNANSWERED flows per server that the server never
 *     answered; they expire after pending_timeout.
 *  6. Contest. A binding as a pair with a new outbound SA stays open a
 *     while (pair_open()): a second credible fresh stranger that pairs
 *     with the same SA, and with no other flow, undoes it, and both wait
 *     (contested()). A forged SPI that began just before the peer's real
 *     one is otherwise bound as the host's own.
 *
 * The packet path only reads (RCU) until a stranger is noted: that takes the
 * slot's own lock; binding takes the netns lock.
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/inetdevice.h>
#include "ipsecnat.h"

#define LEARN_REORDER	(HZ / 20)	/* messages this close are not ordered */
#define LEARN_TRAIL	(HZ / 4)	/* an old SA's packets may trail a switch */
#define LEARN_PAIR	HZ		/* a rekey's new SAs start within this */
#define LEARN_SETTLE	(HZ / 2)	/* a peer-first rekey's host switches within this */
#define LEARN_LATE	(2 * HZ)	/* a host may switch this long after its stranger */
#define LEARN_UNCONFIRMED 4		/* unconfirmed inbound SAs per flow per pending_timeout */
#define LEARN_HOLD	(3 * HZ)	/* longest a host's IKE message is held */
#define LEARN_HOLD_SKBS	16		/* datagrams (RFC 7383 fragments) of a held message ... */
#define LEARN_HOLD_BYTES (64 * 1024)	/* ... and their memory */
#define LEARN_HELD_MAX	64		/* held messages per namespace ... */
#define LEARN_HELD_BYTES BIT(20)	/* ... and their memory */
#define LEARN_RELEASE	(HZ / 50)	/* held messages are looked at this often */
#define LEARN_IKE_QUIET	(10 * HZ)	/* a host's IKE messages closer than this: one burst */
#define LEARN_CHURN	8		/* more new outbound SAs than this ... */
#define LEARN_CHURN_WINDOW (10 * HZ)	/* ... in this long: SPI churn, not rekeys */
#define LEARN_IKE_TURN	(3 * HZ / 2)	/* longest IKE turn */
#define LEARN_IKE_SETTLE (HZ / 2)	/* an answered exchange's new SAs start within this */
#define LEARN_IKE_MADE	(2 * HZ)	/* ... and the host sends on its new SA within this */
#define LEARN_IKE_OPEN	(30 * HZ)	/* the peer speaks first on a new IKE SA within this */
#define LEARN_MULTI	(60 * HZ)	/* a flow seen on several SAs at once stays so */
#define LEARN_MULTI_AFTER HZ		/* ... seen back on an older SA this long after a newer */
#define LEARN_RECHECK	(HZ / 50)	/* a held stranger is judged at most this often */
#define LEARN_WALK_MAX	256		/* flows judged per stranger, at most */
#define STRANGER_TTL	(2 * HZ)	/* a silent stranger is forgotten */
#define STRANGER_QUIET	(5 * HZ)	/* ... and no longer holds another's pair */
#define LEARN_PAUSED	(5 * HZ)	/* a paused flow's stranger flows this long first */
#define STRANGER_KEEP	HZ		/* a new SA's first packet waits this long for a second */
#define STRANGER_STEP	64		/* a live SA's next packet is at most this far ahead */

/* Is jiffies value @t, 0 for never, within [@from, @to]? */
static bool seen_within(unsigned long t, unsigned long from, unsigned long to)
{
	return t && time_in_range(t, from, to);
}

/*
 * Does a mark set to last until @until (set @span before it; 0: no mark)
 * still hold? A range, not time_before(): an old mark must not read as
 * live again when jiffies wrap (32-bit).
 */
static bool mark_live(unsigned long until, unsigned long span, unsigned long now)
{
	return until && time_in_range(now, until - span, until);
}

/* Rule 1: strangers. */

static bool stranger_credible(const struct ipsecnat_stranger *e)
{
	return e->pkts >= 2 || e->vouched;
}

/* Seen within STRANGER_TTL: a silent stranger is forgotten. */
static bool stranger_live(const struct ipsecnat_stranger *e, unsigned long now)
{
	return time_in_range(now, e->last, e->last + STRANGER_TTL);
}

/* The entry of (@peer, @spi) in @t, or NULL; under t->lock. */
static struct ipsecnat_stranger *stranger_find(struct ipsecnat_strangers *t, __be32 peer,
					       __be32 spi)
{
	int i;

	for (i = 0; i < IPSECNAT_STRANGERS; i++)
		if (t->s[i].spi == spi && t->s[i].peer == peer)
			return &t->s[i];
	return NULL;
}

/* How willingly an entry makes room for a new stranger: higher goes first. */
static int stranger_room(const struct ipsecnat_stranger *e, unsigned long now)
{
	if (!e->spi)
		return 4;
	if (!stranger_live(e, now))
		return 3;
	if (stranger_credible(e) || e->local)
		return 0;
	if (!e->fresh)
		return 2;
	return time_in_range(now, e->first, e->first + STRANGER_KEEP) ? 0 : 1;
}

/*
 * A WAN sender spraying one packet per random SPI keeps the stranger table
 * full of new SPIs waiting for their second packet (STRANGER_KEEP). A
 * packet that finds no room leaves a glimpse: a keyed hash of its SA and
 * its sequence number, in a per-namespace array. Was @p's previous packet
 * glimpsed? Then @p is the SA's next packet, and the SA may take the place
 * of a one-packet stranger. Records @p otherwise. Racing writers may mix a
 * glimpse up: that only loses it.
 */
static bool glimpsed(struct ipsecnat_net *in, const struct ipsecnat_esp_seen *p)
{
	u32 h = jhash_3words((__force u32)p->spi, (__force u32)p->peer, (__force u32)p->pub,
			     in->glimpse_key);
	u64 *g = &in->glimpse[h & (IPSECNAT_GLIMPSES - 1)], old = READ_ONCE(*g);
	u32 seq = lower_32_bits(old);

	if (upper_32_bits(old) == h && p->seq > seq && p->seq - seq <= STRANGER_STEP)
		return true;
	WRITE_ONCE(*g, (u64)h << 32 | p->seq);
	return false;
}

/* The one-packet stranger of @t heard of least recently, or NULL. */
static struct ipsecnat_stranger *stranger_single(struct ipsecnat_strangers *t)
{
	struct ipsecnat_stranger *e, *found = NULL;
	int i;

	for (i = 0; i < IPSECNAT_STRANGERS; i++) {
		e = &t->s[i];
		if (!stranger_credible(e) && !e->local &&
		    (!found || time_before(e->last, found->last)))
			found = e;
	}
	return found;
}

/* The entry of @t that makes room most willingly, or NULL; under t->lock. */
static struct ipsecnat_stranger *stranger_room_for(struct ipsecnat_strangers *t,
						   unsigned long now)
{
	struct ipsecnat_stranger *e, *room = NULL;
	int i, best = 0, r;

	for (i = 0; i < IPSECNAT_STRANGERS; i++) {
		e = &t->s[i];
		r = stranger_room(e, now);
		if (r > best || (r && r == best && time_before(e->last, room->last))) {
			best = r;
			room = e;
		}
	}
	return room;
}

/*
 * Note one packet of an unknown SPI in table @t; copy its record to @copy.
 * False if the table has no room (it is full of live strangers).
 */
static bool stranger_note(struct ipsecnat_net *in, struct ipsecnat_strangers *t,
			  const struct ipsecnat_esp_seen *p, unsigned long now,
			  struct ipsecnat_stranger *copy)
{
	struct ipsecnat_stranger *e, *room;
	bool second;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, p->peer, p->spi);
	if (e)
		goto seen;
	room = stranger_room_for(t, now);
	second = !room && glimpsed(in, p);
	if (second)
		room = stranger_single(t);
	if (!room) {
		spin_unlock_bh(&t->lock);
		return false;
	}
	e = room;
	memset(e, 0, sizeof(*e));
	e->peer = p->peer;
	e->spi = p->spi;
	e->seq = p->seq;
	e->pkts = second ? 2 : 1;
	e->fresh = p->seq && p->seq <= IPSECNAT_ESP_FRESH;
	if (p->ports)
		e->ports = *p->ports;
	e->first = now;
	e->checked = now - LEARN_RECHECK;
	goto out;
seen:
	if (p->seq > e->seq && p->seq - e->seq <= STRANGER_STEP) {
		if (e->pkts < U16_MAX)
			e->pkts++;
	} else if (p->seq > e->seq) {
		e->pkts = 1;		/* not this SA's next packet: start over */
	} else {
		goto out;		/* a replay or a duplicate says nothing */
	}
	e->seq = p->seq;
	/* resumed after a silence: kept a while, as its pair waits to settle */
	if (!time_before(now, e->last + LEARN_PAIR) &&
	    !seen_within(e->resumed, now - LEARN_LATE, now)) {
		e->quiet_from = e->last;
		e->resumed = now;
	}
out:
	e->last = now;
	*copy = *e;
	spin_unlock_bh(&t->lock);
	return true;
}

/* May the stranger be judged now? At most once per LEARN_RECHECK. */
static bool stranger_judge_now(struct ipsecnat_strangers *t, __be32 peer, __be32 spi,
			       unsigned long now)
{
	struct ipsecnat_stranger *e;
	bool ok = false;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, peer, spi);
	if (e && time_after_eq(now, e->checked + LEARN_RECHECK)) {
		e->checked = now;
		ok = true;
	}
	spin_unlock_bh(&t->lock);
	return ok;
}

/*
 * A binding of the stranger was refused (a cap): judge it again only a
 * second from now, so that a sender keeping it alive does not take the
 * netns lock 50 times a second.
 */
static void stranger_defer(struct ipsecnat_strangers *t, __be32 peer, __be32 spi,
			   unsigned long now)
{
	struct ipsecnat_stranger *e;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, peer, spi);
	if (e)
		e->checked = now + HZ;
	spin_unlock_bh(&t->lock);
}

/* The stranger is the gateway's own SA: remember it so. */
static void stranger_set_local(struct ipsecnat_strangers *t, __be32 peer, __be32 spi,
			       bool local)
{
	struct ipsecnat_stranger *e;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, peer, spi);
	if (e) {
		e->local = local;
		e->local_checked = true;
	}
	spin_unlock_bh(&t->lock);
}

static void stranger_forget(struct ipsecnat_strangers *t, __be32 peer, __be32 spi)
{
	struct ipsecnat_stranger *e;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, peer, spi);
	if (e)
		memset(e, 0, sizeof(*e));
	spin_unlock_bh(&t->lock);
}

/* Did the packet come in on the interface that holds the public address? */
static bool from_public_side(struct ipsecnat_net *in, __be32 pub, const struct net_device *dev)
{
	return dev && __ip_dev_find(in->net, pub, false) == dev;
}

/* Rule 2: candidates. */

/*
 * Did every child-creating IKE message the host of @f sent lately come
 * after @s started? The peer has an exchange's new SA only after the
 * host's request or response, so then @s is not from its exchanges. Only
 * the host's own messages count (from the inside: see ike_evidence), and
 * only if, when they began, every outbound SA of the flow had its inbound.
 */
static bool exchange_after(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
			   unsigned long now)
{
	unsigned long last = READ_ONCE(f->ike_out_last);

	/* an exchange before the burst may still owe its SA */
	return READ_ONCE(f->ike_prev_settled) && seen_within(last, s->first, now) &&
	       seen_within(READ_ONCE(f->ike_out_first), s->first + LEARN_REORDER + 1, last);
}

/*
 * Did @f run a child-creating IKE exchange near @s's start, recently enough
 * that the peer's first packet on the new SA is still to be expected? An
 * exchange stops counting LEARN_IKE_TURN after it: another host's exchange
 * must not hold a stranger forever.
 */
static bool ike_recent(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
		       unsigned long now)
{
	unsigned long ike = READ_ONCE(f->ike_at);

	return seen_within(ike, s->first - LEARN_PAIR, s->first + LEARN_PAIR) &&
	       time_before(now, ike + LEARN_IKE_TURN) && !exchange_after(f, s, now);
}

/* Can flow @f not own stranger @s, by what its own traffic shows? */
static bool excluded(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
		     unsigned long now)
{
	unsigned long multi = READ_ONCE(f->multi_until);

	if (READ_ONCE(f->dead))
		return true;
	if (mark_live(multi, LEARN_MULTI, now))
		return false;
	return seen_within(READ_ONCE(f->in_last), s->first + LEARN_TRAIL, now);
}

/*
 * Does @f churn SPIs: more than LEARN_CHURN new outbound SAs in a
 * LEARN_CHURN_WINDOW, not long ago? One word, set when the count passes
 * the limit and kept for two windows: a sprayer does not look new again
 * when a window starts.
 */
static bool churns(const struct ipsecnat_flow *f, unsigned long now)
{
	return mark_live(READ_ONCE(f->churn_until), 2 * LEARN_CHURN_WINDOW, now);
}

/*
 * When @f started a new outbound SA or an IKE exchange shortly before @s or
 * shortly after (its host switching late); 0 if it did not.
 */
static unsigned long pair_time(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
			       unsigned long now)
{
	unsigned long from = s->first - LEARN_PAIR, to = s->first + LEARN_LATE;
	unsigned long fresh = READ_ONCE(f->fresh_at), ike = READ_ONCE(f->ike_at);
	bool churning = churns(f, now);

	/*
	 * An SA already in use (after the table was lost, or a peer the
	 * gateway never saw start it) pairs only as the answer to a new
	 * host's first SA, which came just before it. A flow that churns
	 * SPIs has a "first SA" before every stranger: never.
	 */
	if (!s->fresh)
		return !churning && !READ_ONCE(f->learn_gen) && seen_within(fresh, from, s->first) ?
		       fresh : 0;
	/* a new SA first used after an exchange that came after @s is that one's */
	if (!churning && seen_within(fresh, from, to) &&
	    !(exchange_after(f, s, now) && seen_within(fresh, READ_ONCE(f->ike_out_first), now)))
		return fresh;
	/*
	 * An idle host whose peer rekeyed speaks again: its new SA, which
	 * no inbound SA had answered, starts after a silence of its own,
	 * while @s is silent, and @s resumes within LEARN_SETTLE (the answer).
	 */
	if (!churning && READ_ONCE(f->fresh_woke) && s->resumed &&
	    seen_within(fresh, s->quiet_from + 1, s->resumed) &&
	    !time_after(s->resumed, fresh + LEARN_SETTLE))
		return fresh;
	return ike_recent(f, s, now) ? ike : 0;
}

/*
 * Does @f spray SPIs near fresh stranger @s: more than LEARN_CHURN new
 * outbound SAs of late, no inbound SA bound since it was made, no IKE
 * near @s, and its last packet went on an SA that carried no other (real
 * SAs carry traffic)? Its new SAs pair with nothing (pair_time).
 */
static bool sprays(struct ipsecnat_net *in, const struct ipsecnat_flow *f,
		   const struct ipsecnat_stranger *s, unsigned long now)
{
	const struct ipsecnat_sa *sa;

	if (!s->fresh || READ_ONCE(f->learn_gen) || !churns(f, now) || ike_recent(f, s, now))
		return false;
	sa = ipsecnat_sa_lookup(in, IPSECNAT_OUT, 0, f->key.peer,
				READ_ONCE(f->last_spi[IPSECNAT_OUT]));
	/* gone or someone else's now: no reading, so no sprayer */
	return sa && sa->flow == f && atomic64_read(&sa->packets) < 2;
}

/*
 * May a flow of @slot but @f, not ruled out nor spraying, own @e (and, if
 * @paired, pair with it)? Past LEARN_WALK_MAX flows: "may own" yes, "pairs"
 * no, the cautious answer to each question.
 */
static bool others_may_own(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
			   const struct ipsecnat_flow *f, const struct ipsecnat_stranger *e,
			   bool paired, unsigned long now)
{
	struct ipsecnat_flow *g;
	unsigned int walked = 0;

	hlist_for_each_entry_rcu(g, &slot->flows, slot_list) {
		if (++walked > LEARN_WALK_MAX)
			return !paired;
		if (g != f && !excluded(g, e, now) && !sprays(in, g, e, now) &&
		    (!paired || pair_time(g, e, now)))
			return true;
	}
	return false;
}

/*
 * Does @f pair with any credible stranger of @t but @s heard of late
 * (STRANGER_QUIET: a held SPI's traffic may back off)? Then one of the two
 * is another host's, or forged. One @f's traffic rules it out for counts
 * only if no other flow may own it (someone does: trailing packets of
 * @f's old SA may have misled). With @slot, a stranger another candidate
 * pairs with too is not counted: hosts switching in a row would hold each
 * other for good. Copies first: others_may_own must not run under the
 * stranger lock.
 */
static bool pairs_elsewhere(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
			    struct ipsecnat_strangers *t, const struct ipsecnat_flow *f,
			    const struct ipsecnat_stranger *s, unsigned long now)
{
	struct ipsecnat_stranger e;
	bool found = false;
	int i;

	for (i = 0; i < IPSECNAT_STRANGERS && !found; i++) {
		spin_lock_bh(&t->lock);
		e = t->s[i];
		spin_unlock_bh(&t->lock);
		found = e.spi && (e.spi != s->spi || e.peer != s->peer) &&
			stranger_credible(&e) && time_before(now, e.last + STRANGER_QUIET) &&
			pair_time(f, &e, now) &&
			(!excluded(f, &e, now) ||
			 !others_may_own(in, f->slot, f, &e, false, now)) &&
			!(slot && others_may_own(in, slot, f, &e, true, now));
	}
	return found;
}

/*
 * Is another SA already in use (not fresh) flowing on the slot? Then the
 * peer's own traffic starts each of them at times that say nothing about
 * which host asked: an in-use stranger pairs only as the one such.
 */
static bool in_use_elsewhere(struct ipsecnat_strangers *t, const struct ipsecnat_stranger *s,
			     unsigned long now)
{
	const struct ipsecnat_stranger *e;
	bool found = false;
	int i;

	spin_lock_bh(&t->lock);
	for (i = 0; i < IPSECNAT_STRANGERS && !found; i++) {
		e = &t->s[i];
		found = e->spi && (e->spi != s->spi || e->peer != s->peer) && !e->fresh &&
			!e->local && stranger_credible(e) && stranger_live(e, now);
	}
	spin_unlock_bh(&t->lock);
	return found;
}

/* Another fresh stranger came since @since (a clean turn has none). */
static bool strangers_since(struct ipsecnat_strangers *t, const struct ipsecnat_stranger *s,
			    unsigned long since)
{
	bool found = false;
	int i;

	spin_lock_bh(&t->lock);
	for (i = 0; i < IPSECNAT_STRANGERS && !found; i++)
		found = t->s[i].spi && t->s[i].spi != s->spi && t->s[i].fresh &&
			!time_before(t->s[i].first, since);
	spin_unlock_bh(&t->lock);
	return found;
}

static bool turn_live(const struct ipsecnat_turn *t, unsigned long now, unsigned long len)
{
	unsigned long since = READ_ONCE(t->since), until = READ_ONCE(t->until);

	return READ_ONCE(t->flow) && time_in_range(now, since, since + len) &&
	       (!until || time_before(now, until));
}

/* Rule 3: the owner of stranger @s of @slot when certain, with the rule in @why. */
enum learn_verdict {
	LEARN_BIND,
	LEARN_BIND_WEAK,	/* by elimination alone: see bind() */
	LEARN_WAIT,		/* not credible or settled yet */
	LEARN_AMBIGUOUS,	/* several owners possible, no evidence */
};

/* Did an inside host with no flow here run IKE with @peer near @t? */
static bool newcomer_near(struct ipsecnat_net *in, __be32 peer, unsigned long t)
{
	const struct ipsecnat_newcomer *n;

	n = &in->newcomers[hash_32((__force u32)peer, ilog2(ARRAY_SIZE(in->newcomers)))];
	return READ_ONCE(n->peer) == peer &&
	       seen_within(READ_ONCE(n->at), t - LEARN_LATE, t + LEARN_LATE);
}

/*
 * 3c's wait: @s is credible, and LEARN_SETTLE has passed since it and since
 * its pair (at @paired_at) started, so that another stranger of the pair's
 * would have shown up.
 */
static bool pair_settled(const struct ipsecnat_stranger *s, unsigned long paired_at,
			 unsigned long now)
{
	return stranger_credible(s) && !time_before(now, s->first + LEARN_SETTLE) &&
	       !time_before(now, paired_at + LEARN_SETTLE);
}

/*
 * 3a by elimination alone (@f started nothing near @s): a second has passed
 * since @s began, so that the other flows' traffic has ruled them out (and
 * the other SPIs a lost table hides have shown up, with their owners'
 * flows). A new SA of the peer's must also have replaced a live one: @f
 * received until @s began (at most LEARN_LATE before), and has been silent
 * since for twice that gap, so that a flow with sparse traffic still
 * receiving on its old SA has likely shown it. A flow that paused, never
 * received or uses several SAs at once waits until @s has flowed
 * LEARN_PAUSED. A flow that churns SPIs never binds so. An SA in use (the
 * table was lost) whose flow was made again after the loss needs only the
 * second. Such a binding is weak (see bind()): a SPI forged from the WAN
 * may get one.
 */
static bool eliminated(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
		       unsigned long now)
{
	unsigned long multi = READ_ONCE(f->multi_until), in_last = READ_ONCE(f->in_last);

	if (time_before(now, s->first + LEARN_PAIR) || churns(f, now))
		return false;
	if (!s->fresh && !READ_ONCE(f->learn_gen) && READ_ONCE(f->known_out))
		return true;
	if (mark_live(multi, LEARN_MULTI, now))
		return !time_before(now, s->first + LEARN_PAUSED);
	/* it received since (owner() read an older in_last): not the owner */
	if (seen_within(in_last, s->first + LEARN_TRAIL, now))
		return false;
	/* silent twice as long as the gap before @s: its next packet is overdue */
	if (seen_within(in_last, s->first - LEARN_LATE, s->first + LEARN_TRAIL))
		return !time_before(now, s->first + 2 * max_t(long, s->first - in_last, 0));
	return !time_before(now, s->first + LEARN_PAUSED);
}

/*
 * The owner of @s in @res, by rule @why; @pair_at: the evidence of a
 * binding as a pair (3a with a new SA, 3b, 3c), 0 for none.
 */
static enum learn_verdict owner(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
				struct ipsecnat_strangers *t,
				const struct ipsecnat_stranger *s,
				struct ipsecnat_flow **res, enum ipsecnat_counter *why,
				unsigned long *pair_at)
{
	struct ipsecnat_flow *f, *only = NULL, *pair = NULL, *ike;
	unsigned int n = 0, npair = 0, walked = 0, nspray = 0;
	unsigned long now = jiffies, paired_at = 0, tp;

	*pair_at = 0;
	hlist_for_each_entry_rcu(f, &slot->flows, slot_list) {
		if (++walked > LEARN_WALK_MAX)
			return LEARN_AMBIGUOUS;
		if (excluded(f, s, now))
			continue;
		if (sprays(in, f, s, now)) {
			nspray++;
			continue;
		}
		n++;
		only = f;
		tp = pair_time(f, s, now);
		if (tp) {
			npair++;
			pair = f;
			paired_at = tp;
		}
	}
	/* a sprayer never wins by elimination: a forged SPI would bind to it */
	if (!n)
		return LEARN_AMBIGUOUS;
	/*
	 * An SA already in use (the table was lost) binds only as the one
	 * such flowing: with several, the peer's own traffic starts each at
	 * times that say nothing about which host asked, and their owners may
	 * have no flow here yet: nor while a new host waits for its turn
	 * (rule 4), even if only one such SPI flows (the turn's host may send
	 * only).
	 */
	if (!s->fresh && (in_use_elsewhere(t, s, now) ||
			  seen_within(READ_ONCE(slot->held_back_at),
				      s->first - READ_ONCE(in->set.pending_window), now)))
		return LEARN_AMBIGUOUS;
	/*
	 * Sprayers are passed over when the one other candidate pairs with @s
	 * (3b, 3c below); else they count as any candidate.
	 */
	if (nspray && n == 1 && npair == 1)
		goto paired;
	n += nspray;
	/*
	 * 3a. The owner may also be a host with no flow here yet, if one ran
	 * IKE with the peer just then: the last candidate must show a new SA.
	 */
	if (n == 1 && (npair == 1 || !newcomer_near(in, s->peer, s->first))) {
		*res = only;
		/* a rekey by the peer of the only host here, or plain elimination */
		*why = READ_ONCE(slot->nr_flows) == 1 && READ_ONCE(only->learn_gen) ?
		       IPSECNAT_C_rekey_peer : IPSECNAT_C_learned;
		if (npair != 1)
			return stranger_credible(s) && eliminated(only, s, now) ?
			       LEARN_BIND_WEAK : LEARN_WAIT;
		/*
		 * It started a new SA near @s: bound as a pair (3c), so that a
		 * SPI forged beside its rekey finds it paired twice.
		 */
		if (pairs_elsewhere(in, slot, t, only, s, now))
			return LEARN_AMBIGUOUS;
		*pair_at = paired_at;
		if (!s->fresh)		/* see eliminated() */
			return stranger_credible(s) && !time_before(now, s->first + LEARN_PAIR) ?
			       LEARN_BIND : LEARN_WAIT;
		return pair_settled(s, paired_at, now) ? LEARN_BIND : LEARN_WAIT;
	}
	if (npair != 1)
		return LEARN_AMBIGUOUS;
paired:
	if (pairs_elsewhere(in, nspray ? slot : NULL, t, pair, s, now))
		return LEARN_AMBIGUOUS;
	*res = pair;
	*pair_at = paired_at;
	ike = READ_ONCE(slot->ike_turn.flow);	/* freed after RCU: see flow_put */
	if (ike == pair && turn_live(&slot->ike_turn, now, LEARN_IKE_TURN) &&	/* 3b */
	    !time_before(s->first + LEARN_REORDER, READ_ONCE(slot->ike_turn.since)) &&
	    !strangers_since(t, s, READ_ONCE(slot->ike_turn.since))) {
		*why = IPSECNAT_C_learned_ike;
		return stranger_credible(s) ? LEARN_BIND : LEARN_WAIT;
	}
	*why = IPSECNAT_C_learned_pair;					/* 3c */
	return pair_settled(s, paired_at, now) ? LEARN_BIND : LEARN_WAIT;
}

static void turn_end(struct ipsecnat_turn *t, const struct ipsecnat_flow *f)
{
	if (t->flow == f)
		WRITE_ONCE(t->flow, NULL);
}

/*
 * May @f take turn @t (of length @len) now? A turn is not renewed; a flow
 * whose turn ran out while another was refused lets that one go first.
 * Under the netns lock.
 */
static bool turn_take(struct ipsecnat_turn *t, struct ipsecnat_flow *f, unsigned long now,
		      unsigned long len)
{
	if (t->flow == f && turn_live(t, now, len))
		return true;
	if (t->flow && t->flow != f && turn_live(t, now, len)) {
		t->waiting = true;
		return false;
	}
	if (t->flow == f && t->waiting && time_in_range(now, t->since, t->since + 2 * len))
		return false;
	WRITE_ONCE(t->since, now);
	WRITE_ONCE(t->until, 0);
	WRITE_ONCE(t->flow, f);
	t->waiting = false;
	return true;
}

/*
 * The exchange @ex of @f, holder of IKE turn @t, was answered: a rekey's
 * new SAs start within LEARN_IKE_SETTLE, or it made none (an IKE SA rekey,
 * a failed exchange), so the turn ends then. An IKE_AUTH's turn lasts until
 * its first inbound SA is learned: the peer sends on it only when it has
 * something to send. Under the netns lock.
 */
static void turn_answered(struct ipsecnat_turn *t, const struct ipsecnat_flow *f,
			  enum ipsecnat_exchange ex, unsigned long now)
{
	if (t->flow == f && !t->until && ex != IPSECNAT_EX_AUTH)
		WRITE_ONCE(t->until, (now + LEARN_IKE_SETTLE) ?: 1);
}

/*
 * Room for one more inbound SA learned without the host's own new SA (at
 * most LEARN_UNCONFIRMED per flow per pending_timeout). Under the netns lock.
 */
static bool unconfirmed_room(struct ipsecnat_net *in, struct ipsecnat_flow *f,
			     unsigned long now)
{
	if (!time_in_range(now, f->unconfirmed_since,
			   f->unconfirmed_since + READ_ONCE(in->set.pending_timeout))) {
		f->unconfirmed_since = now;
		f->nr_unconfirmed = 0;
	}
	if (f->nr_unconfirmed < LEARN_UNCONFIRMED)
		return true;
	ipsecnat_count(in, IPSECNAT_C_cap_host);
	return false;
}

/*
 * A binding as a pair answers @f's evidence (its new SA or exchange, at
 * @pair_at) when @s was the one credible SPI pairing with it. The peer's
 * real new SA may show its second packet later than a forged SPI that
 * began just before it, and the forged one would win. So the binding
 * stays open to contest for IPSECNAT_PAIR_OPEN after the evidence, and
 * its traffic is no evidence meanwhile (ipsecnat_sa_touch): a forged SPI
 * must not rule @f out of the real one. Keeps what undoing it restores.
 * Under the netns lock, before the SA, whose generation comes next, is
 * made.
 */
static void pair_open(struct ipsecnat_net *in, struct ipsecnat_flow *f,
		      const struct ipsecnat_stranger *s, unsigned long pair_at)
{
	f->prev_learn_gen = f->learn_gen;
	f->prev_fresh_at = f->fresh_at;
	f->prev_ike_at = f->ike_at;
	f->prev_unpaired = f->in_unpaired;
	f->pair_s = *s;
	WRITE_ONCE(f->pair_at, pair_at);
	WRITE_ONCE(f->pair_gen, in->gen + 1);
}

/*
 * Bind stranger @s to its owner (takes the netns lock). A binding
 * that answers the flow's own new outbound SA ends its turns; any other is
 * unconfirmed, and a flow may have only a few of those at a time.
 */
static enum ipsecnat_result bind(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
				 struct ipsecnat_strangers *t, const struct ipsecnat_stranger *s,
				 __be32 pub, struct ipsecnat_sa **res)
{
	struct ipsecnat_sa_key key = { .pub = pub, .peer = s->peer, .spi = s->spi };
	enum ipsecnat_result ret = IPSECNAT_HOLD;
	unsigned long now = jiffies, pair_at;
	enum ipsecnat_counter why;
	struct ipsecnat_flow *f;
	enum learn_verdict v;
	struct ipsecnat_sa *sa;
	bool answers, weak;

	spin_lock_bh(&in->lock);
	sa = ipsecnat_sa_lookup(in, IPSECNAT_IN, pub, s->peer, s->spi);
	if (sa) {
		ret = IPSECNAT_OK;	/* another CPU was first */
		goto out;
	}
	/*
	 * Judged again under the lock: flows, turns and evidence change only
	 * under it. Changed since: judge again on the next packet.
	 */
	v = owner(in, slot, t, s, &f, &why, &pair_at);
	if ((v != LEARN_BIND && v != LEARN_BIND_WEAK) || f->dead)
		goto out;
	weak = v == LEARN_BIND_WEAK;
	answers = !weak && READ_ONCE(f->out_gen) > f->learn_gen;
	/*
	 * A live count, not a rate: forged traffic keeps a forged weak SA
	 * alive, and new ones must not pile up to the host's cap.
	 */
	if (weak && f->nr_weak >= LEARN_UNCONFIRMED) {
		ipsecnat_count(in, IPSECNAT_C_cap_host);
		ret = IPSECNAT_REFUSE;
		goto out;
	}
	if (!answers && !unconfirmed_room(in, f, now)) {
		ret = IPSECNAT_REFUSE;
		goto out;
	}
	/*
	 * A pair binding stays open to contest (contested()) from its first
	 * packet on: it is marked before the SA is in the table. A new host's
	 * first one is not: its turn (rule 4) has ended with it; nor one
	 * undone before (no undo and bind again in a loop); nor one that
	 * answered an IKE exchange: IKE's rekeys come in quick rows, and a
	 * neighbour's SPI would undo good bindings (README: open).
	 */
	if (!weak && pair_at && pair_at == f->fresh_at && s->fresh && !s->vouched && f->learn_gen)
		pair_open(in, f, s, pair_at);
	/*
	 * A weak SA: nothing of the host's own speaks for it (a forged SPI
	 * may bind so). Its evidence and turns stay, and the host must answer
	 * it soon (ipsecnat_learn_out_created) before its traffic counts.
	 */
	sa = ipsecnat_sa_new(in, f, IPSECNAT_IN, &key, s->ports.host ? &s->ports : NULL,
			     weak ? IPSECNAT_SA_WEAK : answers ? 0 : IPSECNAT_SA_UNCONFIRMED);
	if (!sa) {
		WRITE_ONCE(f->pair_gen, 0);
		ret = IPSECNAT_REFUSE;
		goto out;
	}
	ret = IPSECNAT_OK;
	if (weak) {
		f->nr_weak++;
		f->weak_at = now;
		f->weak_gen = sa->gen;
		f->nr_unconfirmed++;
		goto counted;
	}
	WRITE_ONCE(f->learn_gen, sa->gen);
	/* its new SAs and exchange are accounted for: no longer evidence */
	WRITE_ONCE(f->fresh_at, 0);
	WRITE_ONCE(f->ike_at, 0);
	/* no new outbound SA of its own to answer: its next one is this SA's pair */
	f->in_unpaired = !answers;
	if (answers) {
		turn_end(&slot->out_turn, f);
		turn_end(&slot->ike_turn, f);
	} else {
		f->nr_unconfirmed++;
	}
counted:
	ipsecnat_count(in, why);
	ipsecnat_notify_sa(in, why == IPSECNAT_C_rekey_peer ? IPSECNAT_EV_REKEYED :
			   IPSECNAT_EV_LEARNED, sa);
out:
	*res = sa;
	spin_unlock_bh(&in->lock);
	if (sa)
		stranger_forget(t, s->peer, s->spi);
	return ret;
}

/* Is @f's pair binding open, and did @s start near its evidence (pair_time())? */
static bool pair_contestable(const struct ipsecnat_flow *f, const struct ipsecnat_stranger *s,
			     unsigned long now)
{
	unsigned long at = READ_ONCE(f->pair_at);

	return READ_ONCE(f->pair_gen) && time_in_range(now, at, at + IPSECNAT_PAIR_OPEN) &&
	       seen_within(at, s->first - LEARN_PAIR, s->first + LEARN_LATE) &&
	       /* newer evidence of its own, or several SAs at once: it may be both */
	       !READ_ONCE(f->fresh_at) && !READ_ONCE(f->ike_at) &&
	       !mark_live(READ_ONCE(f->multi_until), LEARN_MULTI, now);
}

/*
 * Which flow's open pair binding (pair_open()) does credible fresh
 * stranger @s contest, if any: @s started near the same evidence (it would
 * have paired with it), the flow's own traffic, the open binding's not
 * counted, does not rule it out, no other flow pairs with @s, and no
 * other open binding could be the contested one. Had @s come before the
 * binding, both would have waited (pairs_elsewhere).
 */
static struct ipsecnat_flow *contested(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
				       const struct ipsecnat_stranger *s, unsigned long now)
{
	struct ipsecnat_flow *f, *found = NULL;
	unsigned int walked = 0;

	if (!s->fresh || !stranger_credible(s) || time_before(now, s->first + LEARN_SETTLE))
		return NULL;
	hlist_for_each_entry_rcu(f, &slot->flows, slot_list) {
		if (++walked > LEARN_WALK_MAX)
			return NULL;
		if (!pair_contestable(f, s, now) || excluded(f, s, now))
			continue;
		if (found)
			return NULL;	/* which one? both wait as they are */
		found = f;
	}
	return found && !others_may_own(in, slot, found, s, true, now) ? found : NULL;
}

/*
 * Put stranger @x, whose binding is undone, back in @t as credible as it
 * was; false if there is no room (then the binding stays). Under the
 * netns lock.
 */
static bool stranger_back(struct ipsecnat_strangers *t, const struct ipsecnat_stranger *x,
			  unsigned long now)
{
	struct ipsecnat_stranger *e;

	spin_lock_bh(&t->lock);
	e = stranger_find(t, x->peer, x->spi) ?: stranger_room_for(t, now) ?: stranger_single(t);
	if (e) {
		*e = *x;
		e->vouched = true;	/* its numbers moved on while it was bound */
		e->last = now;
		e->checked = now;
	}
	spin_unlock_bh(&t->lock);
	return e;
}

/*
 * Undo the open pair binding stranger @s contests, if any: its stranger
 * goes back to @t, and its flow gets back the evidence it answered, so
 * both strangers pair with that flow and wait until one has been silent
 * STRANGER_QUIET: one of them is forged, or another host's.
 */
static void pair_undo(struct ipsecnat_net *in, struct ipsecnat_slot *slot,
		      struct ipsecnat_strangers *t, const struct ipsecnat_stranger *s)
{
	unsigned long now = jiffies;
	struct ipsecnat_flow *f;
	struct ipsecnat_sa *sa;

	if (!contested(in, slot, s, now))
		return;
	spin_lock_bh(&in->lock);
	/* judged again under the lock, as bind() does */
	f = contested(in, slot, s, now);
	if (!f || f->dead)
		goto out;
	sa = ipsecnat_sa_lookup(in, IPSECNAT_IN, f->pub, f->pair_s.peer, f->pair_s.spi);
	if (!sa || sa->flow != f || sa->gen != f->pair_gen) {
		WRITE_ONCE(f->pair_gen, 0);	/* gone meanwhile (GC, a flush) */
		goto out;
	}
	if (!stranger_back(t, &f->pair_s, now)) {
		ipsecnat_count(in, IPSECNAT_C_strangers_full);
		goto out;
	}
	WRITE_ONCE(f->pair_gen, 0);
	if (f->learn_gen == sa->gen) {
		WRITE_ONCE(f->learn_gen, f->prev_learn_gen);
		/* unless an outbound SA made since took it as its pair */
		if (f->out_gen < sa->gen)
			f->in_unpaired = f->prev_unpaired;
	}
	WRITE_ONCE(f->fresh_at, f->prev_fresh_at);
	WRITE_ONCE(f->ike_at, f->prev_ike_at);
	if (sa->unconfirmed && f->nr_unconfirmed)
		f->nr_unconfirmed--;
	ipsecnat_count(in, IPSECNAT_C_contested);
	ipsecnat_sa_unlearn(in, sa);	/* @f may go with it */
out:
	spin_unlock_bh(&in->lock);
}

/*
 * IKE SAs the peer (or a forward's client) started are pending until the
 * host speaks on them (ipsecnat_learn_ike_confirmed), and live at most
 * pending_timeout: a WAN sender forging the peer holds at most
 * LEARN_UNCONFIRMED of a flow's at a time. Under the netns lock.
 */
static bool ike_unconfirmed_room(struct ipsecnat_net *in, const struct ipsecnat_flow *f)
{
	if (f->nr_ike_unconfirmed < LEARN_UNCONFIRMED)
		return true;
	ipsecnat_count(in, IPSECNAT_C_cap_host);
	return false;
}

/* Rule 5: a stranger where no inside host talks to the peer. */
static enum ipsecnat_result forward_bind(struct ipsecnat_net *in, struct ipsecnat_fwd *fwd,
					 enum ipsecnat_dir dir, const struct ipsecnat_sa_key *key,
					 const struct ipsecnat_ports *ports,
					 struct ipsecnat_sa **res)
{
	struct ipsecnat_slot *slot;
	struct ipsecnat_flow *f;
	struct ipsecnat_sa *sa = NULL;

	spin_lock_bh(&in->lock);
	if (dir == IPSECNAT_IKE)
		sa = ipsecnat_ike_lookup(in, key->pub, key->peer, &key->spi);
	else
		sa = ipsecnat_sa_lookup(in, dir, key->pub, key->peer, key->spi);
	if (sa)
		goto out;
	slot = ipsecnat_slot_lookup(in, key->peer, key->pub);
	if (slot && slot->nr_flows) {
		struct ipsecnat_flow *only = ipsecnat_slot_only_flow(slot);

		/* inside hosts talk to the peer (or started to meanwhile) */
		if (!only || only->key.host != fwd->server)
			goto out;
	}
	f = ipsecnat_flow_get(in, fwd->server, key->peer, key->pub);
	if (!f) {
		ipsecnat_count(in, IPSECNAT_C_no_memory);
		goto out;
	}
	if (!f->nr_sas) {	/* a new client: counted until the server answers */
		if (f->hostent->nr_fwd_unanswered >= IPSECNAT_FWD_UNANSWERED) {
			ipsecnat_count(in, IPSECNAT_C_cap_host);
			goto release;
		}
		f->fwd_unanswered = true;
		f->hostent->nr_fwd_unanswered++;
	} else if (dir == IPSECNAT_IKE && !ike_unconfirmed_room(in, f)) {
		goto release;	/* a known client's new IKE SAs: as in learn_ike */
	}
	sa = ipsecnat_sa_new(in, f, dir, key, ports,
			     dir == IPSECNAT_IKE ? IPSECNAT_SA_UNCONFIRMED : 0);
	if (sa && dir == IPSECNAT_IKE)
		f->nr_ike_unconfirmed++;
	if (sa) {
		if (dir == IPSECNAT_IN) {
			WRITE_ONCE(f->learn_gen, sa->gen);
			f->in_unpaired = true;
		}
		ipsecnat_count(in, IPSECNAT_C_forwarded);
		ipsecnat_notify_sa(in, IPSECNAT_EV_LEARNED, sa);
	}
release:
	ipsecnat_flow_release(in, f);
out:
	*res = sa;
	spin_unlock_bh(&in->lock);
	return sa ? IPSECNAT_OK : IPSECNAT_REFUSE;
}

/* The stranger table of @slot, made with its first stranger (NULL: no memory). */
static struct ipsecnat_strangers *slot_strangers(struct ipsecnat_net *in,
						 struct ipsecnat_slot *slot)
{
	struct ipsecnat_strangers *t = rcu_dereference(slot->strangers), *old;

	if (t)
		return t;
	t = ipsecnat_zalloc(in, sizeof(*t));
	if (!t)
		return NULL;
	spin_lock_init(&t->lock);
	old = unrcu_pointer(cmpxchg(&slot->strangers, NULL, RCU_INITIALIZER(t)));
	if (old) {		/* another CPU was first */
		kfree(t);
		return old;
	}
	return t;
}

/*
 * Note @p in table @t. PASS when it is the gateway's own (marked) SA, HOLD
 * when the table has no room; else OK with the record in @s.
 */
static enum ipsecnat_result note(struct ipsecnat_net *in, struct ipsecnat_strangers *t,
				 const struct ipsecnat_esp_seen *p, struct ipsecnat_stranger *s)
{
	if (!t || !stranger_note(in, t, p, jiffies, s)) {
		ipsecnat_count(in, IPSECNAT_C_strangers_full);
		return IPSECNAT_HOLD;
	}
	/* marked states (VTI, XFRM interfaces) miss the hook's unmarked lookup */
	if (!s->local_checked) {
		switch (ipsecnat_local_spi_any_mark(in, p->pub, p->spi)) {
		case IPSECNAT_LOCAL_PACED:
			ipsecnat_count(in, IPSECNAT_C_local_spi_paced);
			return IPSECNAT_HOLD;
		case IPSECNAT_LOCAL_YES:
			s->local = true;
			fallthrough;
		case IPSECNAT_LOCAL_NO:
			stranger_set_local(t, p->peer, p->spi, s->local);
		}
	}
	if (s->local) {
		ipsecnat_count(in, IPSECNAT_C_local_spi);
		return IPSECNAT_PASS;
	}
	return IPSECNAT_OK;
}

static enum ipsecnat_result learn_forward_esp(struct ipsecnat_net *in,
					      const struct ipsecnat_esp_seen *p,
					      struct ipsecnat_sa **res)
{
	struct ipsecnat_sa_key key = { .pub = p->pub, .peer = p->peer, .spi = p->spi };
	struct ipsecnat_fwd *fwd = ipsecnat_fwd_lookup(in, p->pub);
	struct ipsecnat_stranger s;
	enum ipsecnat_result r;

	if (!fwd) {
		ipsecnat_count(in, IPSECNAT_C_unknown_spi);
		return IPSECNAT_PASS;
	}
	r = note(in, &fwd->strangers, p, &s);
	if (r != IPSECNAT_OK)
		return r;
	if (!stranger_credible(&s))
		return IPSECNAT_HOLD;
	r = forward_bind(in, fwd, IPSECNAT_IN, &key, p->ports, res);
	if (r == IPSECNAT_OK)
		stranger_forget(&fwd->strangers, p->peer, p->spi);
	return r;
}

/*
 * Inbound ESP (plain or in UDP) to public address p->pub with an SPI no
 * binding names. IPSECNAT_OK with *res the SA to translate with, PASS when
 * it is not ours, HOLD or REFUSE to drop it.
 */
enum ipsecnat_result ipsecnat_learn_esp(struct ipsecnat_net *in,
					const struct ipsecnat_esp_seen *p,
					struct ipsecnat_sa **res)
{
	struct ipsecnat_strangers *t;
	enum ipsecnat_counter why;
	struct ipsecnat_stranger s;
	struct ipsecnat_slot *slot;
	unsigned long pair_at;
	enum learn_verdict v;
	enum ipsecnat_result r;
	struct ipsecnat_flow *f;

	if (!from_public_side(in, p->pub, p->dev)) {
		ipsecnat_count(in, IPSECNAT_C_foreign_iface);
		return IPSECNAT_PASS;
	}
	slot = ipsecnat_slot_lookup(in, p->peer, p->pub);
	if (!slot || !READ_ONCE(slot->nr_flows))
		return learn_forward_esp(in, p, res);
	t = slot_strangers(in, slot);
	r = note(in, t, p, &s);
	if (r != IPSECNAT_OK)
		return r;
	if (!stranger_judge_now(t, p->peer, p->spi, jiffies))
		return IPSECNAT_HOLD;
	pair_undo(in, slot, t, &s);
	v = owner(in, slot, t, &s, &f, &why, &pair_at);
	switch (v) {
	case LEARN_BIND_WEAK:
		/* the cap bind() checks, first without the lock */
		if (READ_ONCE(f->nr_weak) >= LEARN_UNCONFIRMED) {
			ipsecnat_count(in, IPSECNAT_C_cap_host);
			stranger_defer(t, p->peer, p->spi, jiffies);
			return IPSECNAT_REFUSE;
		}
		fallthrough;
	case LEARN_BIND:
		r = bind(in, slot, t, &s, p->pub, res);
		if (r == IPSECNAT_REFUSE)
			stranger_defer(t, p->peer, p->spi, jiffies);
		return r;
	case LEARN_WAIT:
		break;
	case LEARN_AMBIGUOUS:
		ipsecnat_count(in, IPSECNAT_C_ambiguous);
		if (ipsecnat_notify_ratelimit(in))
			ipsecnat_notify(in, IPSECNAT_EV_AMBIGUOUS, IPSECNAT_IN, 0, p->peer, p->spi);
		break;
	}
	return IPSECNAT_HOLD;
}

/*
 * Rule 4, the peer's new IKE SA: an IKEv2 CREATE_CHILD_SA exchange makes
 * either ESP SAs or an IKE SA, never both, and the new IKE SA's SPIs travel
 * encrypted. A flow whose exchanges of late (a burst of them within
 * LEARN_IKE_MADE counting once) outnumber the new SAs it sent on just
 * after them may own it; the slot keeps such flows in ike_open. Under the
 * netns lock.
 */
static struct ipsecnat_ike_open *ike_open_find(struct ipsecnat_slot *slot,
					       const struct ipsecnat_flow *f)
{
	int i;

	for (i = 0; i < IPSECNAT_IKE_OPEN; i++)
		if (slot->ike_open[i].flow == f)
			return &slot->ike_open[i];
	return NULL;
}

/* Is @o live at @now? An entry past LEARN_IKE_OPEN is emptied. */
static bool ike_open_live(struct ipsecnat_ike_open *o, unsigned long now)
{
	if (o->flow && !seen_within(o->at, now - LEARN_IKE_OPEN, now))
		o->flow = NULL;
	return o->flow;
}

/* A CREATE_CHILD_SA exchange of @f went: one more open (or none certain). */
static void ike_open_note(struct ipsecnat_slot *slot, struct ipsecnat_flow *f, unsigned long now)
{
	struct ipsecnat_ike_open *o = ike_open_find(slot, f);
	int i;

	if (o && ike_open_live(o, now)) {
		/* one burst (crossing requests, a retry) makes one set of SAs */
		if (time_after(now, o->at + LEARN_IKE_MADE))
			o->nr++;
	} else {
		for (i = 0; i < IPSECNAT_IKE_OPEN && !o; i++)
			if (!ike_open_live(&slot->ike_open[i], now))
				o = &slot->ike_open[i];
		if (!o) {
			slot->ike_open_lost = now ?: 1;	/* too many: none is certain */
			return;
		}
		o->flow = f;
		o->nr = 1;
	}
	o->at = now ?: 1;
}

/*
 * @f has no open exchange any more: its host spoke on a new IKE SA (the
 * open ones made no other IKE SA unknown here), or it goes.
 */
static void ike_open_forget(struct ipsecnat_slot *slot, const struct ipsecnat_flow *f)
{
	struct ipsecnat_ike_open *o = ike_open_find(slot, f);

	if (o)
		o->flow = NULL;
}

/*
 * An exchange of @f made ESP SAs: its host sent on a new outbound SA at
 * @now (long after the exchange, it is an idle host's older SA).
 */
static void ike_open_made(struct ipsecnat_slot *slot, const struct ipsecnat_flow *f,
			  unsigned long now)
{
	struct ipsecnat_ike_open *o = ike_open_find(slot, f);

	if (o && time_in_range(now, o->at, o->at + LEARN_IKE_MADE) && !--o->nr)
		o->flow = NULL;
}

/*
 * The owner of the peer's new IKE SA: the one flow with an open exchange,
 * or the slot's only flow; NULL if none or several could be.
 */
static struct ipsecnat_flow *ike_open_owner(struct ipsecnat_slot *slot, unsigned long now)
{
	struct ipsecnat_flow *f = NULL;
	int i;

	if (seen_within(slot->ike_open_lost, now - LEARN_IKE_OPEN, now))
		return NULL;
	for (i = 0; i < IPSECNAT_IKE_OPEN; i++) {
		if (!ike_open_live(&slot->ike_open[i], now))
			continue;
		if (f)
			return NULL;
		f = slot->ike_open[i].flow;
	}
	return f ?: ipsecnat_slot_only_flow(slot);
}

/*
 * Inbound IKE on an IKE SA nobody knows. A first request (@spi_r 0) starts
 * a new SA: a forward's, else not ours. Otherwise it is a new IKE SA from
 * the peer's rekey: the one flow whose exchange may have made it.
 */
enum ipsecnat_result ipsecnat_learn_ike(struct ipsecnat_net *in, const struct sk_buff *skb,
					const __be32 *spi_i, u64 spi_r,
					const struct ipsecnat_ports *ports,
					struct ipsecnat_sa **res)
{
	__be32 pub = ip_hdr(skb)->daddr, peer = ip_hdr(skb)->saddr;
	struct ipsecnat_sa_key key = {
		.pub = pub, .peer = peer, .spi = spi_i[0], .spi2 = spi_i[1],
	};
	enum ipsecnat_result ret = IPSECNAT_REFUSE;
	struct ipsecnat_flow *f = NULL;
	struct ipsecnat_slot *slot;
	struct ipsecnat_fwd *fwd;
	struct ipsecnat_sa *sa;

	*res = NULL;
	if (!from_public_side(in, pub, skb->dev)) {
		ipsecnat_count(in, IPSECNAT_C_foreign_iface);
		return IPSECNAT_PASS;
	}
	slot = ipsecnat_slot_lookup(in, peer, pub);
	if (!spi_r || !slot || !READ_ONCE(slot->nr_flows)) {
		fwd = ipsecnat_fwd_lookup(in, pub);
		if (fwd && !spi_r)
			return forward_bind(in, fwd, IPSECNAT_IKE, &key, ports, res);
		ipsecnat_count(in, IPSECNAT_C_unknown_spi);
		return IPSECNAT_PASS;
	}
	spin_lock_bh(&in->lock);
	sa = ipsecnat_ike_lookup(in, pub, peer, spi_i);
	if (sa) {
		*res = sa;
		ret = IPSECNAT_OK;
		goto out;
	}
	/* the peer rekeyed an IKE SA and speaks first on the new one */
	f = ike_open_owner(slot, jiffies);
	if (!f || f->dead) {
		ipsecnat_count(in, IPSECNAT_C_ambiguous);
		if (ipsecnat_notify_ratelimit(in))
			ipsecnat_notify(in, IPSECNAT_EV_AMBIGUOUS, IPSECNAT_IKE, 0, peer, spi_i[0]);
		goto out;
	}
	if (!ike_unconfirmed_room(in, f))
		goto out;
	sa = ipsecnat_sa_new(in, f, IPSECNAT_IKE, &key, ports, IPSECNAT_SA_UNCONFIRMED);
	if (!sa)
		goto out;
	f->nr_ike_unconfirmed++;
	WRITE_ONCE(ipsecnat_ike(sa)->spi_r, spi_r);
	ipsecnat_count(in, IPSECNAT_C_ike_learned);
	ipsecnat_notify_sa(in, IPSECNAT_EV_REKEYED, sa);
	*res = sa;
	ret = IPSECNAT_OK;
out:
	spin_unlock_bh(&in->lock);
	return ret;
}

/* Rule 4: turns. */

/*
 * May @f make a new outbound SA now? Under the netns lock. A flow that never
 * learned an inbound SA (a new host) waits for the slot's turn, so that the
 * peer's first answers come one host at a time. A flow's rekeys never wait:
 * holding them would hide the evidence that tells rekeys apart.
 */
bool ipsecnat_learn_out_allowed(struct ipsecnat_net *in, struct ipsecnat_flow *f, bool in_use)
{
	lockdep_assert_held(&in->lock);
	/*
	 * A host sending on an SA in use before the gateway saw it is no new
	 * host: the table was lost, and its rekeys are the evidence that
	 * rebinds it (rule 3c); holding them would strand it.
	 */
	if (in_use)
		f->known_out = true;
	if (f->in_unpaired || f->learn_gen || f->known_out)
		return true;
	return turn_take(&f->slot->out_turn, f, jiffies, READ_ONCE(in->set.pending_window));
}

/*
 * The host of @f starts a new outbound SPI, made or refused (a host at its
 * cap churns all the same). More than LEARN_CHURN in a LEARN_CHURN_WINDOW:
 * it churns SPIs for two windows (churns()). Under the netns lock.
 */
void ipsecnat_learn_out_started(struct ipsecnat_flow *f)
{
	unsigned long now = jiffies;

	if (!time_in_range(now, f->churn_since, f->churn_since + LEARN_CHURN_WINDOW)) {
		/* the window that ended counts on while it is the one just before */
		f->churn_prev = time_in_range(now, f->churn_since,
					      f->churn_since + 2 * LEARN_CHURN_WINDOW) ?
				f->churn : 0;
		f->churn = 0;
		f->churn_since = now;
	}
	if (++f->churn + f->churn_prev > LEARN_CHURN)
		WRITE_ONCE(f->churn_until, (now + 2 * LEARN_CHURN_WINDOW) ?: 1);
}

/*
 * A new outbound SA of @f was made: its start is evidence for rule 3c,
 * unless the flow churns SPIs (a host spraying new SPIs pairs with nothing).
 * Made within LEARN_LATE after its newest weak inbound SA, it answers that
 * one (the host of a peer-first rekey switching); later, it does not: a
 * forged SPI bound so must not be confirmed by the host's next rekey.
 * An SA @in_use before (made again after the collector or a flush took it)
 * is no rekey: evidence of nothing, once the flow has learned an inbound SA.
 * Under the netns lock, in the packet path (RCU).
 */
void ipsecnat_learn_out_created(struct ipsecnat_net *in, struct ipsecnat_flow *f,
				bool paired, bool in_use)
{
	const struct ipsecnat_sa *prev;
	unsigned long now = jiffies;
	bool woke;

	if (in_use && READ_ONCE(f->learn_gen))
		return;
	prev = ipsecnat_sa_lookup(in, IPSECNAT_OUT, 0, f->key.peer, f->last_spi[IPSECNAT_OUT]);
	/* its host was idle until now (see pair_time) */
	woke = !prev || prev->flow != f || !time_before(now, READ_ONCE(prev->lastuse) + LEARN_PAIR);
	WRITE_ONCE(f->fresh_woke, woke && !paired);

	if (f->weak_gen && time_in_range(now, f->weak_at, f->weak_at + LEARN_LATE))
		WRITE_ONCE(f->weak_confirmed, f->weak_gen);
	/* newer evidence: its pair binding is no longer contested (closed) */
	WRITE_ONCE(f->pair_gen, 0);
	f->weak_gen = 0;
	WRITE_ONCE(f->fresh_at, now ?: 1);
	ike_open_made(f->slot, f, now);
}

/* The host of @f sent a child-creating IKE message: note its burst. */
static void ike_sent(struct ipsecnat_flow *f, unsigned long now)
{
	if (!seen_within(READ_ONCE(f->ike_out_last), now - LEARN_IKE_QUIET, now)) {
		/* does an earlier exchange still owe an inbound SA? */
		bool owed = READ_ONCE(f->out_owed) &&
			    READ_ONCE(f->out_gen) > READ_ONCE(f->learn_gen);

		WRITE_ONCE(f->ike_prev_settled, !owed);
		WRITE_ONCE(f->ike_out_first, now ?: 1);
	}
	WRITE_ONCE(f->ike_out_last, now ?: 1);
}

/* A child-creating IKE message of @f went through, sent by the host if @out. */
static void ike_noted(struct ipsecnat_flow *f, bool out, unsigned long now)
{
	if (out)
		ike_sent(f, now);
	WRITE_ONCE(f->ike_at, now ?: 1);
	/*
	 * Newer evidence: its pair binding is no longer contested, and its
	 * traffic counts again (a host that rekeys often must not stay a
	 * candidate for its neighbours' SPIs). Unlocked: closing early is safe.
	 */
	WRITE_ONCE(f->pair_gen, 0);
}

/*
 * Hold datagram @skb of message @msg of the host of @f (see ipsecnat_ike_hold).
 * False if it cannot be held (the caps, a bridged packet). Under the netns lock.
 */
static bool hold_add(struct ipsecnat_net *in, struct ipsecnat_flow *f, u64 msg,
		     enum ipsecnat_exchange ex, bool response, struct sk_buff *skb,
		     unsigned long now)
{
	struct ipsecnat_ike_hold *h = &f->ike_hold;
	const struct dst_entry *dst = skb_dst(skb);

	if (!h->skbs && in->nr_held >= LEARN_HELD_MAX)
		return false;
	if (h->skbs && (h->msg != msg || h->nr_skbs >= LEARN_HOLD_SKBS ||
			h->bytes + skb->truesize > LEARN_HOLD_BYTES))
		return false;
	if (in->held_bytes + skb->truesize > LEARN_HELD_BYTES || READ_ONCE(in->dying))
		return false;
	/* a bridged packet's route is the bridge's own: it cannot be sent again */
	if (!dst || (dst->flags & DST_FAKE_RTABLE))
		return false;
	/* a forwarded packet's route may be borrowed from RCU: own it */
	if (!skb_dst_force(skb))
		return false;
	skb->next = NULL;
	if (!h->skbs) {
		h->skbs = skb;
		h->nr_skbs = 0;
		h->bytes = 0;
		h->msg = msg;
		h->ex = ex;
		h->response = response;
		h->since = now;
		h->admitted = false;
		list_add_tail(&h->node, &in->ike_held);
		in->nr_held++;
		queue_delayed_work(system_power_efficient_wq, &in->ike_release, LEARN_RELEASE);
	} else {
		h->last->next = skb;
	}
	h->last = skb;
	h->nr_skbs++;
	h->bytes += skb->truesize;
	in->held_bytes += skb->truesize;
	return true;
}

/*
 * Message @msg of the host of @f goes now: its retransmits and fragments
 * will too, and a response answers the exchange of the turn. Under the lock.
 */
static void ike_pass(struct ipsecnat_net *in, struct ipsecnat_flow *f, u64 msg,
		     enum ipsecnat_exchange ex, bool response, unsigned long now)
{
	f->ike_passed[response] = msg;
	if (ex == IPSECNAT_EX_CHILD)
		ike_open_note(f->slot, f, now);
	if (response)
		turn_answered(&f->slot->ike_turn, f, ex, now);
}

/* Take the held datagrams of @h, a chain, for sending or freeing. Under the lock. */
static struct sk_buff *hold_take(struct ipsecnat_net *in, struct ipsecnat_ike_hold *h)
{
	struct sk_buff *skbs = h->skbs, *skb;

	for (skb = skbs; skb; skb = skb->next)
		in->held_bytes -= skb->truesize;
	in->nr_held--;
	h->skbs = NULL;
	h->last = NULL;
	list_del(&h->node);
	return skbs;
}

/*
 * The peer sent a request: a held request of @f crossed it and goes now,
 * turn or not (a held response to it waits). Under the netns lock.
 */
static void hold_admit(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	if (f->ike_hold.skbs && !f->ike_hold.response && !f->ike_hold.admitted) {
		f->ike_hold.admitted = true;
		mod_delayed_work(system_power_efficient_wq, &in->ike_release, 0);
	}
}

static void hold_free(struct sk_buff *skbs)
{
	struct sk_buff *next;

	for (; skbs; skbs = next) {
		next = skbs->next;
		skb_mark_not_on_list(skbs);
		kfree_skb(skbs);
	}
}

/*
 * Send held datagrams on their way, from POSTROUTING on (the hook that
 * held them passes them now): the route's output runs the hook again.
 * A route that died meanwhile, or a namespace going away, drops them.
 */
static void hold_send(struct ipsecnat_net *in, struct sk_buff *skbs)
{
	int (*output)(struct net *net, struct sock *sk, struct sk_buff *skb);
	struct sk_buff *skb, *next;
	struct net_device *dev;
	struct dst_entry *dst;

	local_bh_disable();
	for (skb = skbs; skb; skb = next) {
		next = skb->next;
		skb_mark_not_on_list(skb);
		dst = skb_dst(skb);
		dev = READ_ONCE(dst->dev);
		if (READ_ONCE(in->dying) || READ_ONCE(dst->obsolete) == DST_OBSOLETE_DEAD ||
		    !net_eq(dev_net(dev), in->net)) {
			kfree_skb(skb);
			continue;
		}
		/* the device it came in on may be gone: not referenced */
		skb->dev = dev;
		output = READ_ONCE(dst->output);
		output(in->net, NULL, skb);
	}
	local_bh_enable();
}

/*
 * Held messages go, oldest first, when their flow gets the turn, when the
 * peer's request of their flow came (see ipsecnat_ike_exchange), or after
 * LEARN_HOLD.
 */
void ipsecnat_ike_release(struct work_struct *work)
{
	struct ipsecnat_net *in = container_of(to_delayed_work(work), struct ipsecnat_net,
					       ike_release);
	struct ipsecnat_ike_hold *h, *tmp;
	struct sk_buff *go = NULL, **tail = &go;
	struct ipsecnat_flow *f;
	unsigned long now;
	bool more;

	spin_lock_bh(&in->lock);
	now = jiffies;
	list_for_each_entry_safe(h, tmp, &in->ike_held, node) {
		f = container_of(h, struct ipsecnat_flow, ike_hold);
		if (!h->admitted && time_before(now, h->since + LEARN_HOLD) &&
		    !turn_take(&f->slot->ike_turn, f, now, LEARN_IKE_TURN))
			continue;
		ike_pass(in, f, h->msg, h->ex, h->response, now);
		*tail = hold_take(in, h);
		while (*tail)
			tail = &(*tail)->next;
	}
	more = !list_empty(&in->ike_held);
	spin_unlock_bh(&in->lock);
	if (go)
		hold_send(in, go);
	if (more && !READ_ONCE(in->dying))
		queue_delayed_work(system_power_efficient_wq, &in->ike_release, LEARN_RELEASE);
}

/* The namespace goes: no hook runs any more (pre_exit set dying, RCU passed). */
void ipsecnat_learn_exit(struct ipsecnat_net *in)
{
	struct ipsecnat_ike_hold *h;
	struct sk_buff *skbs;

	cancel_delayed_work_sync(&in->ike_release);
	spin_lock_bh(&in->lock);
	while (!list_empty(&in->ike_held)) {
		h = list_first_entry(&in->ike_held, struct ipsecnat_ike_hold, node);
		skbs = hold_take(in, h);
		spin_unlock_bh(&in->lock);
		hold_free(skbs);
		spin_lock_bh(&in->lock);
	}
	spin_unlock_bh(&in->lock);
}

/*
 * A child-creating IKE message of flow @f (IKEv2 IKE_AUTH or
 * CREATE_CHILD_SA, IKEv1 Quick Mode), seen translated, sent by the host if
 * @out. A host's IKEv2 message of exchange @ex (paced unless
 * IPSECNAT_EX_UNPACED; a @response or a request, @msg names it, @skb is
 * it) takes the slot's IKE turn; while another flow holds it, the message
 * is held (IPSECNAT_IKE_HELD: the caller stole it) and sent when the turn
 * is free. Once a message went, its retransmits and fragments go too. The
 * peer's paced request is never held, and lets a held message of its flow
 * go at once: both ends of a collision (two requests crossing) must see
 * both requests, or the end that saw only the other's resolves it alone
 * and may delete the SA the other end keeps. A held message, or the peer's
 * request, is no evidence: the exchange has not started, or its SAs come
 * with the host's response; nor is any message of the peer's unless the
 * host's own came within LEARN_IKE_QUIET (a WAN sender can forge the
 * peer's).
 */
enum ipsecnat_ike_verdict ipsecnat_ike_exchange(struct ipsecnat_net *in, struct ipsecnat_flow *f,
						bool out, enum ipsecnat_exchange ex,
						bool response, u64 msg, struct sk_buff *skb)
{
	enum ipsecnat_ike_verdict v = IPSECNAT_IKE_PASS;
	struct ipsecnat_turn *t = &f->slot->ike_turn;
	unsigned long now;

	if (ex != IPSECNAT_EX_UNPACED) {
		spin_lock_bh(&in->lock);
		now = jiffies;
		if (f->dead) {
			/* its SAs are gone: nothing to learn, nothing to hold */
		} else if (!out) {
			if (response)
				turn_answered(t, f, ex, now);
			else
				hold_admit(in, f);
		} else if (f->ike_passed[response] == msg) {
			/* went already: its retransmits and fragments go too */
		} else if (f->ike_hold.skbs && f->ike_hold.msg != msg && response) {
			/* it answers the peer's request that crossed the held one */
			hold_admit(in, f);
			ike_pass(in, f, msg, ex, response, now);
		} else if (!f->ike_hold.skbs && turn_take(t, f, now, LEARN_IKE_TURN)) {
			ike_pass(in, f, msg, ex, response, now);
		} else if (hold_add(in, f, msg, ex, response, skb, now)) {
			v = IPSECNAT_IKE_HELD;
		} else if (f->ike_hold.skbs) {
			v = IPSECNAT_IKE_DROP;	/* more copies of a held message */
		} else {
			/* no room to hold it: it goes rather than wait for ever */
			ike_pass(in, f, msg, ex, response, now);
		}
		spin_unlock_bh(&in->lock);
		if (v != IPSECNAT_IKE_PASS) {
			ipsecnat_count(in, IPSECNAT_C_ike_paced);
			return v;
		}
		if (!out && !response)
			return v;
	}
	now = jiffies;
	/* the peer's message counts only in a burst of the host's own */
	if (out || seen_within(READ_ONCE(f->ike_out_last), now - LEARN_IKE_QUIET, now))
		ike_noted(f, out, now);
	return v;
}

/*
 * A new IKE SA of @f: its last exchange rekeyed the IKE SA, so no ESP SA
 * will answer it. Under the netns lock.
 */
void ipsecnat_learn_ike_sa_new(struct ipsecnat_flow *f)
{
	turn_end(&f->slot->ike_turn, f);
	ike_open_forget(f->slot, f);
	WRITE_ONCE(f->ike_at, 0);
}

/*
 * The inside host spoke on IKE SA @sa, which the peer (or a forward's
 * client) started: the SA is its, and a new IKE SA of its (above).
 */
void ipsecnat_learn_ike_confirmed(struct ipsecnat_net *in, struct ipsecnat_sa *sa)
{
	spin_lock_bh(&in->lock);
	/* sa_del clears the mark of an SA deleted meanwhile */
	if (sa->unconfirmed && !sa->flow->dead) {
		WRITE_ONCE(sa->unconfirmed, false);
		sa->flow->nr_ike_unconfirmed--;
		ipsecnat_learn_ike_sa_new(sa->flow);
	}
	spin_unlock_bh(&in->lock);
}

/*
 * A child-creating IKE message from an inside host on its way out, seen in
 * PREROUTING (@spi_i: its IKE SA). The target accounts for IKE SAs it
 * translates (and may drop the message for pacing); this notes the rest:
 * IKE whose ports conntrack remaps. Never from the public side.
 */
void ipsecnat_ike_evidence(struct ipsecnat_net *in, const struct sk_buff *skb,
			   const __be32 *spi_i)
{
	__be32 host = ip_hdr(skb)->saddr, peer = ip_hdr(skb)->daddr;
	struct ipsecnat_flow *f = ipsecnat_flow_lookup(in, host, peer);
	struct ipsecnat_newcomer *n;
	struct ipsecnat_sa *sa;

	if (f) {
		if (from_public_side(in, f->pub, skb->dev))
			return;
		sa = ipsecnat_ike_lookup(in, f->pub, peer, spi_i);
		if (!sa || sa->flow != f)
			ike_noted(f, true, jiffies);
		return;
	}
	/* a host that will have a flow once its SAs carry traffic */
	n = &in->newcomers[hash_32((__force u32)peer, ilog2(ARRAY_SIZE(in->newcomers)))];
	WRITE_ONCE(n->peer, peer);
	WRITE_ONCE(n->at, jiffies ?: 1);
}

/* Flow @f is going away (under the netns lock): it holds no turn any more. */
void ipsecnat_learn_flow_gone(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	turn_end(&f->slot->out_turn, f);
	turn_end(&f->slot->ike_turn, f);
	ike_open_forget(f->slot, f);
	/* freed under the lock: conntrack puts are safe with BHs off */
	if (f->ike_hold.skbs)
		hold_free(hold_take(in, &f->ike_hold));
}

/* The slot's only flow, if it has exactly one (RCU or the netns lock). */
struct ipsecnat_flow *ipsecnat_slot_only_flow(const struct ipsecnat_slot *slot)
{
	struct hlist_node *first;

	if (READ_ONCE(slot->nr_flows) != 1)
		return NULL;
	first = rcu_dereference_check(hlist_first_rcu(&slot->flows), true);
	return first ? hlist_entry(first, struct ipsecnat_flow, slot_list) : NULL;
}

/*
 * A packet of @f on another SA than the last one (rare: a rekey). Going
 * back to an older SA, past the reordering right after a switch, shows that
 * the flow uses several SAs at once; rule 2 then never excludes it.
 */
void ipsecnat_flow_switch(struct ipsecnat_flow *f, const struct ipsecnat_sa *sa,
			  unsigned long now)
{
	struct ipsecnat_flow_use *u;
	unsigned long gen;

	WRITE_ONCE(f->last_spi[sa->dir], sa->key.spi);
	if (sa->dir == IPSECNAT_IKE)
		return;
	u = &f->use[sa->dir];
	gen = READ_ONCE(u->gen);
	if (sa->gen > gen) {
		WRITE_ONCE(u->since, now);
		smp_wmb();	/* since before gen: who sees the new gen sees its since */
		WRITE_ONCE(u->gen, sa->gen);
		return;
	}
	smp_rmb();	/* pairs with the smp_wmb() above */
	if (sa->gen < gen && time_after(now, READ_ONCE(u->since) + LEARN_MULTI_AFTER))
		WRITE_ONCE(f->multi_until, (now + LEARN_MULTI) ?: 1);
}
