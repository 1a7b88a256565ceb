#!/usr/bin/env python3
"""Writes Arrow IPC and Parquet fixtures the way Python users write them.

Usage: make_fixtures.py OUTDIR

For each topic (sales, beacons, social, queues) it writes the same records with pyarrow
and with polars, using each library's natural defaults:

  {topic}.pyarrow.arrows           pyarrow IPC stream (string, timestamp[us, UTC], int64)
  {topic}.pyarrow.arrow            pyarrow IPC file
  {topic}.pyarrow.parquet          pyarrow Parquet (default: snappy)
  {topic}.pyarrow-variants.parquet pyarrow Parquet with dictionary strings, large strings,
                                   narrow ints and tz-less nanosecond times
  {topic}.pyarrow-variants.arrows  the same as an IPC stream
  {topic}.polars.parquet           polars Parquet (default: zstd, large strings)
  {topic}.polars.arrow             polars IPC file (string views, large lists)
  {topic}.polars.arrows            polars IPC stream

and `expected.json`: every record once per topic, as JSON Lines in sellout's JSON form
with a `topic` tag (what `sellout_ingest::records::AnyRecord` deserialises).

Needs the packages in scripts/requirements-test.txt.
"""

import datetime as dt
import json
import sys
from pathlib import Path

try:
    import polars as pl
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq
except ImportError as error:  # The Rust test reports this with the install hint.
    print(f"missing Python package: {error}; run `pip install -r scripts/requirements-test.txt`",
          file=sys.stderr)
    sys.exit(3)

UTC = dt.timezone.utc


def t(s, micros=0):
    """A UTC datetime from an ISO string, with optional extra microseconds."""
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC) + dt.timedelta(microseconds=micros)


def rfc3339_ms(value):
    """Our JSON form of a time: RFC 3339 in UTC, milliseconds, `Z` (sub-ms truncated)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


SALES = [
    dict(kind="view", event_id="ev-1", category_id="cat-a", session_id="s-1", customer_id=None,
         quantity=0, unit_price_minor=4500, currency="EUR", channel="web", quote_id=None,
         time=t("2026-11-22T19:30:00")),
    dict(kind="cart_add", event_id="ev-1", category_id="cat-a", session_id="s-1",
         customer_id="cust-42", quantity=2, unit_price_minor=4500, currency="EUR", channel="app",
         quote_id="q-1", time=t("2026-11-22T19:30:01.250")),
    dict(kind="purchase", event_id="ev-2-with-a-rather-long-identifier", category_id="cat-b",
         session_id="s-2", customer_id=None, quantity=10, unit_price_minor=9_999_999,
         currency="GBP", channel="box_office", quote_id="q-2",
         time=t("2026-11-22T19:30:02.123", micros=456)),
    dict(kind="refund", event_id="ev-3", category_id="cat-c", session_id="s-3",
         customer_id="cust-7", quantity=1, unit_price_minor=-100, currency="USD",
         channel="partner", quote_id=None, time=t("1999-12-31T23:59:59.999")),
]

BEACONS = [
    dict(installation_id="inst-1", venue_id="venue-1", zone_id="gate-a", beacon_id="b-1",
         rssi=-60, proximity="near", time=t("2026-11-22T18:00:00")),
    dict(installation_id="inst-2", venue_id="venue-1", zone_id="bar-2", beacon_id="b-9",
         rssi=-120, proximity="far", time=t("2026-11-22T18:00:00.001")),
    dict(installation_id="inst-3", venue_id="venue-2", zone_id="block-7", beacon_id="b-3",
         rssi=0, proximity="immediate", time=t("2026-11-22T18:05:30.500")),
    dict(installation_id="inst-4", venue_id="venue-2", zone_id="block-7", beacon_id="b-4",
         rssi=-87, proximity="unknown", time=t("2026-11-22T18:06:00")),
]

SOCIAL = [
    dict(source="x", text="Can't wait for tonight! 🎸🔥", language="en", author_reach=1200,
         event_ids=["ev-1"], time=t("2026-11-20T10:00:00")),
    dict(source="instagram", text="Ausverkauft?! Schade… ñandú 日本語", language="de",
         author_reach=18_000_000_000, event_ids=["ev-1", "ev-2-with-a-rather-long-identifier"],
         time=t("2026-11-21T08:15:42.042")),
    dict(source="forum", text="", language="fr", author_reach=0, event_ids=[],
         time=t("2026-11-21T09:00:00")),
]

QUEUES = [
    dict(venue_id="venue-1", zone_id="bar-2", stand_id="stand-beer", length=17,
         time=t("2026-11-22T20:00:00")),
    dict(venue_id="venue-1", zone_id="bar-2", stand_id="stand-food", length=0,
         time=t("2026-11-22T20:00:10.010")),
    dict(venue_id="venue-2", zone_id="gate-a", stand_id="stand-merch", length=4_000_000_000,
         time=t("2026-11-22T20:01:00")),
]

TOPICS = {"sales": SALES, "beacons": BEACONS, "social": SOCIAL, "queues": QUEUES}
OPTIONAL = {"customer_id", "quote_id"}


def expected_json(topic, row):
    out = {"topic": topic}
    for key, value in row.items():
        if key in OPTIONAL and value is None:
            continue
        out[key] = rfc3339_ms(value) if key == "time" else value
    return out


def columns(rows):
    return {key: [row[key] for row in rows] for key in rows[0]}


def pyarrow_natural(rows):
    """What `pa.table(dict_of_lists)` infers: string, int64, timestamp[us, tz=UTC], list<string>."""
    return pa.table(columns(rows))


def pyarrow_variants(rows):
    """Other shapes a careful user produces: dictionary and large strings, narrow ints,
    tz-less nanosecond times, large lists."""
    arrays, names = [], []
    for key, values in columns(rows).items():
        if key == "time":
            naive = [v.astimezone(UTC).replace(tzinfo=None) for v in values]
            array = pa.array(naive, type=pa.timestamp("ns"))
        elif key in ("kind", "channel", "proximity", "currency", "language"):
            array = pa.array(values, type=pa.string()).dictionary_encode()
        elif key == "event_ids":
            array = pa.array(values, type=pa.large_list(pa.large_string()))
        elif key == "rssi":
            array = pa.array(values, type=pa.int16())
        elif key in ("quantity", "length"):
            array = pa.array(values, type=pa.uint32())
        elif key == "author_reach":
            array = pa.array(values, type=pa.uint64())
        elif isinstance(values[0], str) or key in OPTIONAL:
            array = pa.array(values, type=pa.large_string())
        else:
            array = pa.array(values)
        arrays.append(array)
        names.append(key)
    # An extra column readers must ignore.
    arrays.append(pa.array([1.5] * len(rows)))
    names.append("ignored_extra")
    return pa.Table.from_arrays(arrays, names=names)


def write_ipc_stream(table, path):
    with ipc.new_stream(str(path), table.schema) as writer:
        writer.write_table(table)


def write_ipc_file(table, path):
    with ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    expected = []
    for topic, rows in TOPICS.items():
        expected.extend(expected_json(topic, row) for row in rows)

        natural = pyarrow_natural(rows)
        write_ipc_stream(natural, out / f"{topic}.pyarrow.arrows")
        write_ipc_file(natural, out / f"{topic}.pyarrow.arrow")
        pq.write_table(natural, out / f"{topic}.pyarrow.parquet")

        variants = pyarrow_variants(rows)
        pq.write_table(variants, out / f"{topic}.pyarrow-variants.parquet")
        write_ipc_stream(variants, out / f"{topic}.pyarrow-variants.arrows")

        frame = pl.DataFrame(rows)
        frame.write_parquet(out / f"{topic}.polars.parquet")
        frame.write_ipc(out / f"{topic}.polars.arrow")
        frame.write_ipc_stream(out / f"{topic}.polars.arrows")

    with open(out / "expected.json", "w", encoding="utf-8") as f:
        for line in expected:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
