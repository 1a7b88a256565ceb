#!/usr/bin/env python3
"""Writes the `input.jsonl` of the golden cases that need hours of steady history
(the detectors train a baseline first): `surges-and-slumps` and `buzz-volume-and-mood`.

Deterministic (a fixed seed); run it again only to change a case, then bless the
expected outputs (see README.md) and read the diff.
"""
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def sale(t, kind, session, quantity=1, category="cat-1"):
    return {"topic": "sales", "kind": kind, "event_id": "ev-1", "category_id": category,
            "session_id": session, "quantity": quantity, "unit_price_minor": 5000,
            "currency": "GBP", "channel": "web", "time": stamp(t)}


def arrival_order(records, rng, jitter_s=4.0):
    """Shuffles records within the out-of-orderness bound (5 s), as a network does."""
    keyed = [(r["_t"] + timedelta(seconds=rng.uniform(0, jitter_s)), i, r)
             for i, r in enumerate(records)]
    return [r for _, _, r in sorted(keyed)]


def surges(rng):
    """Two hours of about 2 tickets a minute; 10 minutes at about 15 a minute (a
    surge); then nothing for 40 minutes (a slump); then the old pace again. One record
    arrives two minutes after its time, beyond the allowed lateness."""
    records, n = [], 0
    minute_rates = [2] * 120 + [15] * 10 + [0] * 40 + [2] * 30
    for m, rate in enumerate(minute_rates):
        for _ in range(rng.choice([rate - 1, rate, rate + 1]) if rate else 0):
            t = START + timedelta(minutes=m, seconds=rng.uniform(0, 59.9))
            n += 1
            session = f"s-{n}"
            add = sale(t - timedelta(seconds=20), "cart_add", session, rng.choice([1, 2]))
            buy = dict(sale(t, "purchase", session, add["quantity"]))
            add["_t"], buy["_t"] = t - timedelta(seconds=20), t
            records += [add, buy]
    ordered = arrival_order(records, rng)
    late = sale(START + timedelta(minutes=125, seconds=5), "purchase", "s-late", 1)
    late["_t"] = START + timedelta(minutes=127, seconds=30)
    at = next(i for i, r in enumerate(ordered) if r["_t"] >= late["_t"])
    ordered.insert(at, late)
    return ordered


POSITIVE = [
    ("en", "Golden Night is going to be amazing, can't wait!"),
    ("fr", "Trop hâte, ce concert sera génial"),
    ("de", "Ich freue mich riesig, das wird super"),
    ("es", "Qué ganas, va a ser increíble"),
]
NEUTRAL = [
    ("en", "Who else is going to Golden Night on Saturday?"),
    ("fr", "Quelqu'un y va samedi ?"),
    ("de", "Wer geht am Samstag hin?"),
    ("es", "¿Alguien va el sábado?"),
]
NEGATIVE = [
    ("en", "The prices are not fair at all, what a rip-off"),
    ("fr", "Les prix ne sont pas corrects, quelle arnaque"),
    ("de", "Die Preise sind nicht gut, eine Abzocke"),
    ("es", "Los precios no son justos, una estafa"),
]


def buzz(rng):
    """Ninety minutes of 5-8 mostly friendly posts a minute in four languages; then
    eight minutes of 30 angry ones a minute (a price outrage: volume and sentiment
    both move); then calm again. One post arrives beyond the allowed lateness."""
    records = []
    for m in range(130):
        outrage = 90 <= m < 98
        count = 30 if outrage else rng.randint(5, 8)
        for _ in range(count):
            t = START + timedelta(minutes=m, seconds=rng.uniform(0, 59.9))
            pool = NEGATIVE if outrage else rng.choice([POSITIVE, POSITIVE, NEUTRAL])
            language, text = rng.choice(pool)
            records.append({"topic": "social", "source": "x", "text": text,
                            "language": language, "author_reach": rng.choice([50, 200, 5000]),
                            "event_ids": ["ev-1"], "time": stamp(t), "_t": t})
    ordered = arrival_order(records, rng)
    late = dict(records[0], time=stamp(START + timedelta(minutes=60)),
                _t=START + timedelta(minutes=63))
    at = next(i for i, r in enumerate(ordered) if r["_t"] >= late["_t"])
    ordered.insert(at, late)
    return ordered


def write(case, records):
    with open(HERE / case / "input.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({k: v for k, v in r.items() if k != "_t"}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write("surges-and-slumps", surges(random.Random(7)))
    write("buzz-volume-and-mood", buzz(random.Random(11)))
