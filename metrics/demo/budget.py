"""How many events each demo activity stream gets (:mod:`metrics.demo`).

The target number of events is shared *exactly* among the streams, in
proportion to what each would produce at its archetype's natural pace
(:data:`SESSION_RATE` sessions a day of :data:`SESSION_LENGTH` events, over
the days it is active, times its portal's activity level; a user in several
portals splits that pace among them). No user gets more than about
:data:`MAX_SESSIONS_PER_DAY` sessions a day on average; what a
capped stream cannot take goes to the others, so large targets make many
moderately busy users rather than a few absurdly busy ones.
"""

from __future__ import annotations

from collections import Counter

from metrics.demo.world import DAY, Stream

SESSION_RATE = {"occasional": 0.05, "regular": 0.18, "engaged": 0.5, "drifting": 0.2}
SESSION_LENGTH = {"occasional": 7.75, "regular": 7.75, "engaged": 11.75, "drifting": 7.75}
SHORT_LENGTH = 1.5  # events per session in a declining portal's last 14 days
MAX_SESSIONS_PER_DAY = 1.0
ANCHOR_EVENTS = 24  # events of the planted sessions of a declining portal's lead stream


def _water_fill(total: float, weights: list[float], caps: list[float]) -> list[float]:
    """Split ``total`` in proportion to ``weights``, no share above its cap where possible."""
    shares = [0.0] * len(weights)
    free = [i for i, w in enumerate(weights) if w > 0]
    remaining = total
    while remaining > 1e-6 and free:
        weight = sum(weights[i] for i in free)
        for i in free:
            shares[i] += remaining * weights[i] / weight
        remaining = sum(max(0.0, shares[i] - caps[i]) for i in free)
        full = {i for i in free if shares[i] >= caps[i]}
        for i in full:
            shares[i] = caps[i]
        free = [i for i in free if i not in full]
    if remaining > 1e-6:  # every stream is at its cap: exceed them all alike
        grand = sum(shares) or 1.0
        shares = [s + remaining * s / grand for s in shares]
    return shares


def _session_days(s: Stream, now: int) -> float:
    """Active days times events per session (short sessions lately in a declining portal)."""
    length = SESSION_LENGTH[s.kind]
    if "declining" not in s.portal.traits:
        return max(1.0, (s.hi - s.lo) / DAY) * length
    cut = max(s.lo, now - 14 * DAY)
    return max(0.0, (cut - s.lo) / DAY) * length + max(1.0, (s.hi - cut) / DAY) * SHORT_LENGTH


def assign_budgets(streams: list[Stream], events: int, now: int) -> None:
    """Set ``stream.budget`` so that the budgets add up to ``events`` exactly."""
    if not streams:
        return
    portals = Counter(s.user_id for s in streams)  # a user's attention is split among them
    weights, caps = [], []
    for s in streams:
        events_a_day = _session_days(s, now) / portals[s.user_id]  # at one session a day
        weights.append(SESSION_RATE[s.kind] * s.portal.activity * events_a_day)
        caps.append(MAX_SESSIONS_PER_DAY * events_a_day)
    each = 2 if events >= 4 * len(streams) else int(events >= len(streams))
    shares = _water_fill(events - each * len(streams), weights, caps)
    for s, share in zip(streams, shares, strict=True):
        s.budget = each + int(share)
    left = events - sum(s.budget for s in streams)
    by_remainder = sorted(range(len(streams)), key=lambda i: int(shares[i]) - shares[i])
    for i in by_remainder[:left]:
        streams[i].budget += 1
    _anchor(streams, events, now)


def _anchor(streams: list[Stream], events: int, now: int) -> None:
    """Pick each declining portal's lead stream for the planted long-then-short sessions."""
    leads: dict[int, Stream] = {}
    for s in streams:
        if "declining" in s.portal.traits and s.lo < now - 30 * DAY:
            best = leads.get(id(s.portal))
            if best is None or s.budget > best.budget:
                leads[id(s.portal)] = s
    if events < 20 * ANCHOR_EVENTS * max(1, len(leads)):
        return  # too few events to spare; declining durations may then be missing
    donor = max(streams, key=lambda s: s.budget)
    for s in leads.values():
        s.anchored, s.kind, s.hi = True, "engaged", s.portal.hi
        deficit = max(0, ANCHOR_EVENTS - s.budget)
        s.budget += deficit
        donor.budget -= deficit
