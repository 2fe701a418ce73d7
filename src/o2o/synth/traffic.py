"""Vectorised call generation for one service direction, chunk by chunk, with the planted discrepancies.

A service's calls are *slots* (one real call each) and *redials* (a slot that is two calls on the same
pair: a 2–8 s dropped call, then 3–10 s after it ends a call of 31 s or more). Invariants the truth
relies on:
- every slot has its own (a_number, b_number) pair: the pair is `divmod` of an affine permutation of
  the slot's index, and the digit scrambles are bijections, so two slots never share a pair and only a
  redial's two calls can be within the matching tolerance of each other on the same pair;
- the two records of one call are at most `clock_skew_s` apart (offset difference plus both jitters);
- each slot is in exactly one category: missing on the provider's side, missing on the customer's
  side, 1 s longer or shorter on the customer's side (partial), 2–20 s different (mismatch), or exact;
  redials are always exact and never duplicated; during the planted outage (the busiest service
  direction only) every call but those missing on the provider's side is missing on the customer's;
- a duplicate row is a copy of a distinct row of the same side and comes after it in the file.
Randomness is drawn per (seed, service, chunk), so a seed always gives the same calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from o2o.domain.errors import ValidationError
from o2o.synth.network import SynthAgreement, SynthService, rng_for
from o2o.synth.options import SynthOptions

EDGE_MARGIN_S = 3600  # keep calls an hour away from the month's edges
REDIAL_SPAN_S = 120
_DAY_PROFILE = np.array(
    [0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.35, 0.65, 0.85, 0.95, 1.0,
     1.0, 0.95, 0.95, 0.95, 0.9, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25]
)  # fmt: skip
MISSING_PROVIDER, MISSING_CUSTOMER, PARTIAL, MISMATCH, EXACT = range(5)
INT = np.int64


@dataclass(frozen=True, slots=True)
class NumberPool:
    """Subscriber numbers `block + scrambled digits` (national significant numbers as integers)."""

    bases: np.ndarray  # int(block) * 10**digits, per destination
    digits: int
    mult: int
    add: int

    def numbers(self, index: np.ndarray, dest: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.bases[dest] + (index * self.mult + self.add) % (10**self.digits)
        return out


@dataclass(frozen=True, slots=True)
class ServicePlan:
    agreement: SynthAgreement
    service: SynthService
    number: int  # the service's index in the network, for seeding
    slots: int
    redials: int
    pool_b: int
    perm_mod: int
    perm_mult: int
    perm_add: int
    a_pool: NumberPool
    b_pool: NumberPool
    shares: np.ndarray
    offset_provider: int
    offset_customer: int
    bin_starts: np.ndarray
    bin_lens: np.ndarray
    bin_slots: np.ndarray
    chunk_bins: tuple[tuple[int, int, int], ...]  # (first bin, end bin, redials in the chunk)
    outage: tuple[int, int] | None = None  # [start, end) epoch s: the customer's switch recorded nothing


@dataclass(frozen=True, slots=True)
class Calls:
    """The real calls of one chunk, with each call's category and the customer's duration difference."""

    start: np.ndarray
    duration: np.ndarray
    volume: np.ndarray | None
    a_nsn: np.ndarray
    b_nsn: np.ndarray
    dest: np.ndarray
    category: np.ndarray
    delta: np.ndarray
    redial: np.ndarray  # bool: part of a planted redial pair
    redial_pairs: int


def _coprime(target: int, modulus: int) -> int:
    m = max(target, 3) | 1
    while math.gcd(m, modulus) != 1:
        m += 2
    return m


def _bins(ag: SynthAgreement, kind: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tz = ZoneInfo(ag.timezone)
    starts = np.arange(lo, hi, 3600, dtype=INT)
    lens = np.minimum(starts + 3600, hi) - starts
    weights = np.empty(len(starts))
    for i, s in enumerate(starts.tolist()):
        local = datetime.fromtimestamp(s, UTC).astimezone(tz)
        w = _DAY_PROFILE[local.hour]
        if kind == "data":
            w = 0.4 + 0.6 * w
        if local.weekday() >= 5 and kind == "voice":
            w *= 0.6
        weights[i] = w * lens[i] / 3600
    return starts, lens, weights / weights.sum()


def _chunking(counts: np.ndarray, size: int) -> list[tuple[int, int]]:
    out, first, total = [], 0, 0
    for i, c in enumerate(counts.tolist()):
        if total and total + c > size:
            out.append((first, i))
            first, total = i, 0
        total += c
    out.append((first, len(counts)))
    return out


def outage_service(calls: dict[str, int]) -> str | None:
    """The service direction (`agreement/service`) whose customer loses a day: the busiest one, so the
    day's share of its amount (~3%) is over the tolerance whatever the network's size."""
    return max(calls, key=lambda key: calls[key]) if calls else None


def _outage_window(opts: SynthOptions, ag: SynthAgreement) -> tuple[int, int]:
    """Whole local days of the period, away from its first and last day; drawn from its own stream so
    that the rest of the network is the same with or without an outage."""
    start, end = opts.period.bounds_epoch(ag.timezone)
    days = (end - start) // 86_400
    first = int(rng_for(opts.seed, 9).integers(1, days - opts.outage_days))
    return start + first * 86_400, start + (first + opts.outage_days) * 86_400


def plan_service(
    opts: SynthOptions, ag: SynthAgreement, svc: SynthService, calls: int, number: int, outage: bool = False
) -> ServicePlan:
    rng = rng_for(opts.seed, 4, number)
    redials = round(calls * opts.redial / (1 + opts.redial)) if svc.kind == "voice" else 0
    slots = calls - redials
    prov, cust = svc.provider.country, svc.customer.country
    if svc.kind == "data":
        pool_b = 8
    else:
        pool_b = min(10**prov.subscriber_digits, max(10, math.isqrt(3 * slots) + 1))
    pool_a = -(-3 * slots // pool_b) + 1
    if pool_a > 10**cust.subscriber_digits:
        raise ValidationError(f"{svc.id}: {calls} calls are more than its number blocks can keep apart")
    mod = pool_a * pool_b
    a_pool = NumberPool(
        np.array([int(svc.customer.mobile_block) * 10**cust.subscriber_digits], dtype=INT),
        cust.subscriber_digits, _coprime(int(rng.integers(10**5, 10**6)), 10), int(rng.integers(10**6)),
    )  # fmt: skip
    cc = len(prov.country_code)
    b_pool = NumberPool(
        np.array([int(d.prefix[cc:]) * 10**prov.subscriber_digits for d in svc.destinations], dtype=INT),
        prov.subscriber_digits, _coprime(int(rng.integers(10**5, 10**6)), 10), int(rng.integers(10**6)),
    )  # fmt: skip
    start, end = opts.period.bounds_epoch(ag.timezone)
    starts, lens, p = _bins(ag, svc.kind, start + EDGE_MARGIN_S, end - EDGE_MARGIN_S - REDIAL_SPAN_S)
    bin_slots = rng.multinomial(slots, p).astype(INT)
    spans = _chunking(bin_slots, opts.chunk_calls)
    per_chunk = np.array([bin_slots[a:b].sum() for a, b in spans], dtype=INT)
    chunk_redials = rng.multivariate_hypergeometric(per_chunk, redials) if redials else per_chunk * 0
    first = ag.parties[0].id
    off = _switch_offsets(opts, ag)
    return ServicePlan(
        ag, svc, number, slots, redials, pool_b, mod,
        _coprime(int(mod * 0.6180339887) + 1, mod), int(rng.integers(mod)), a_pool, b_pool,
        np.array([d.share for d in svc.destinations]),
        off[0] if svc.provider.id == first else off[1],
        off[0] if svc.customer.id == first else off[1],
        starts, lens, bin_slots,
        tuple((a, b, int(r)) for (a, b), r in zip(spans, chunk_redials, strict=True)),
        _outage_window(opts, ag) if outage and opts.outage_days else None,
    )  # fmt: skip


def _switch_offsets(opts: SynthOptions, ag: SynthAgreement) -> tuple[int, int]:
    """Clock offsets of the two parties' switches on this agreement; they differ by <= skew - 2 jitter."""
    rng = rng_for(opts.seed, 6, *[ord(ch) for ch in ag.id])
    spread = opts.clock_skew_s - 2 * opts.jitter_s
    first = int(rng.integers(-2, 3))
    return first, first + int(rng.integers(-spread, spread + 1))


def _durations(kind: str, rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray | None]:
    if kind == "voice":
        d = np.clip(np.rint(rng.lognormal(math.log(90), 1.0, m)), 1, 7200).astype(INT)
        return d, None
    if kind == "sms":
        return np.zeros(m, dtype=INT), np.ones(m, dtype=INT)
    d = np.clip(np.rint(rng.lognormal(math.log(600), 1.2, m)), 1, 86_400).astype(INT)
    return d, np.clip(np.rint(rng.lognormal(15.0, 1.5, m)), 1, 10**11).astype(INT)


def _categories(
    opts: SynthOptions, kind: str, rng: np.random.Generator, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    m = len(d)
    voice = kind == "voice"
    cum = np.cumsum([opts.missing_provider, opts.missing_customer,
                     opts.partial if voice else 0.0, opts.mismatch if voice else 0.0])  # fmt: skip
    cat = np.searchsorted(cum, rng.random(m), side="right").astype(np.int8)
    sign = np.where(rng.random(m) < 0.5, -1, 1).astype(INT)
    mag = np.where(cat == PARTIAL, 1, rng.integers(2, 21, m))
    delta = np.where((cat == PARTIAL) | (cat == MISMATCH), sign * mag, 0)
    delta = np.where(d + delta < 1, mag, delta)
    return cat, np.where((cat == PARTIAL) | (cat == MISMATCH), delta, 0).astype(INT)


def chunk_calls(opts: SynthOptions, plan: ServicePlan, chunk: int, slot_offset: int) -> Calls:
    """The calls of chunk `chunk`, whose first slot has the service-wide index `slot_offset`."""
    b0, b1, redials = plan.chunk_bins[chunk]
    rng = rng_for(opts.seed, 5, plan.number, chunk)
    counts = plan.bin_slots[b0:b1]
    m = int(counts.sum())
    t = np.repeat(plan.bin_starts[b0:b1], counts)
    t += (rng.random(m) * np.repeat(plan.bin_lens[b0:b1], counts)).astype(INT)
    k = np.arange(slot_offset, slot_offset + m, dtype=INT)
    a_idx, b_idx = np.divmod((k * plan.perm_mult + plan.perm_add) % plan.perm_mod, plan.pool_b)
    nd = len(plan.shares)
    dest = rng.choice(nd, m, p=plan.shares).astype(INT) if nd > 1 else np.zeros(m, dtype=INT)
    a_nsn = plan.a_pool.numbers(a_idx, np.zeros(m, dtype=INT))
    b_nsn = plan.b_pool.numbers(b_idx, dest)
    d, vol = _durations(plan.service.kind, rng, m)
    cat, delta = _categories(opts, plan.service.kind, rng, d)
    if plan.outage is not None:
        lost = (t >= plan.outage[0]) & (t < plan.outage[1]) & (cat != MISSING_PROVIDER)
        cat[lost], delta[lost] = MISSING_CUSTOMER, 0
    is_redial = np.zeros(m, dtype=bool)
    if redials:
        r = np.sort(rng.choice(m, redials, replace=False))
        is_redial[r] = True
        cat[r], delta[r] = EXACT, 0
        first = rng.integers(2, 9, redials)
        second_start = t[r] + first + rng.integers(3, 11, redials)
        second = d[r] + 30
        d[r] = first
        t = np.concatenate([t, second_start])
        d = np.concatenate([d, second])
        a_nsn, b_nsn = np.concatenate([a_nsn, a_nsn[r]]), np.concatenate([b_nsn, b_nsn[r]])
        dest, cat = np.concatenate([dest, dest[r]]), np.concatenate([cat, cat[r]])
        delta = np.concatenate([delta, delta[r]])
        vol = None if vol is None else np.concatenate([vol, vol[r]])
        is_redial = np.concatenate([is_redial, np.ones(redials, dtype=bool)])
    return Calls(t, d, vol, a_nsn, b_nsn, dest, cat, delta, is_redial, redials)


def chunks(plan: ServicePlan) -> Iterator[tuple[int, int]]:
    """(chunk number, first slot index) of each chunk, in time order."""
    offset = 0
    for i, (b0, b1, _) in enumerate(plan.chunk_bins):
        yield i, offset
        offset += int(plan.bin_slots[b0:b1].sum())
