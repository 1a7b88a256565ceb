#!/usr/bin/env python3
"""Fault drills and overload of `sellout serve`; the last line is one JSON object.

Scenarios (all by default; `--only kill,overload,...` picks some):

- kill: `kill -9` of the whole `sellout serve` process at random points (seeded) of a
  run, `--kills` times, in two phases, each compared with the same phase run
  uninterrupted in another data directory:
  1. ingest: the records are POSTed in CloudEvents batches by a sender that re-sends
     whatever was in flight when the server died (at-least-once, as any sender must);
     kills land while requests are in flight. Afterwards the `sales`, `beacons`,
     `social` and `queues` tables hold exactly the records of the file, once each:
     per category, counts and sums of quantities and amounts equal the uninterrupted
     run's (`records_lost`, `duplicates`).
  2. processing: `sellout serve` runs the pipelines, the repricer and the notifier over
     the complete log and is killed mid-way, restarted, killed... Afterwards signals,
     features, prices (per category: count, last price) and delivery outcomes (per
     campaign) equal the uninterrupted run's. Notifications go to `sellout endpoints`
     (a separate process that outlives every kill) which counts every notification it
     accepted twice (`duplicates`). Sends interrupted by a kill are not retried (the
     notifier is at most once per notification): a planned notification without an
     outcome is reported as `interrupted`, and planned + interrupted reconcile.
- storm: notifications through endpoints answering 30% of requests with 429, 500, 503 or
  slowly, and closing APNs connections with GOAWAY every 50 streams: nothing received
  twice, every planned notification resolved once, at most 5 attempts, bounded in flight.
- overload: the pricing API driven past saturation with `wrk` (`--soak-seconds`): the
  share shed with 503 + Retry-After (`shed_ratio`), 5xx other than 503
  (`server_errors`), latency of a probe of admitted requests during the load, RSS growth
  over the soak (`rss_growth_mb`) and recovery right after. Then ingest driven past the
  log: 429s, and every record acknowledged is in the log.
- logs: a server run with debug logging registers installations with push tokens and
  customer ids and ingests records; its logs must contain no token, key, customer id
  or installation id.

    python3 scripts/reliability.py --sellout target/release/sellout            # full
    python3 scripts/reliability.py --sellout target/debug/sellout --quick      # CI

Exit code 0 when every target held (zero lost, zero duplicates, zero server errors,
RSS growth within 50 MB), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

INPUT_TABLES = ("sales", "beacons", "social", "queues")
# Servers started so far (numbers their log files).
STARTS = [0]
# Every process started, killed at exit if still running.
CHILDREN: list[subprocess.Popen] = []


def spawn(cmd: list[str], **kw) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, **kw)
    CHILDREN.append(proc)
    return proc


def run(cmd: list[str], **kw) -> str:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    return out.stdout


def last_json(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.strip().startswith("{")]
    return json.loads(lines[-1])


def http(method: str, url: str, key: str | None = None, body: bytes | None = None,
         content_type: str = "application/json", timeout: float = 60) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Serve:
    """`sellout serve` on 127.0.0.1:0 over one data directory; can be killed and restarted."""

    def __init__(self, sellout: str, data: Path, config: Path | None, logs: Path,
                 args: list[str] = (), env: dict | None = None):
        self.sellout, self.data, self.config, self.logs = sellout, data, config, logs
        self.args, self.env = list(args), env
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> None:
        cmd = [self.sellout, "--data-dir", str(self.data)]
        if self.config:
            cmd += ["--config", str(self.config)]
        cmd += ["serve", "--listen", "127.0.0.1:0", *self.args]
        self.starts += 1
        STARTS[0] += 1
        err = open(self.logs / f"serve-{self.data.name}-{STARTS[0]:03d}.err", "w")
        self.proc = spawn(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                     env=self.env)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"serve exited before listening; see {err.name}")
        self.url = json.loads(line)["serve"]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=600)
        if self.proc.returncode != 0:
            raise RuntimeError(f"serve exited with {self.proc.returncode}")
        return last_json(out)

    def pid(self) -> int:
        return self.proc.pid


def new_key(sellout: str, data: Path, kind: str) -> str:
    return last_json(run([sellout, "--data-dir", str(data), "key", "new", "--kind", kind]))["key"]


def sql(sellout: str, data: Path, query: str) -> list[dict]:
    out = run([sellout, "--data-dir", str(data), "sql", "--format", "json",
               "--max-rows", "1000000", query])
    return json.loads(out) if out.strip() else []


def chunks_of(path: Path, size: int) -> list[bytes]:
    lines = path.read_text().splitlines()
    return [("[" + ",".join(lines[i:i + size]) + "]").encode()
            for i in range(0, len(lines), size)]


def post_chunk(serve: Serve, key: str, body: bytes) -> tuple[int, dict]:
    """POSTs one CloudEvents batch; retries 429/503 as a sender must."""
    while True:
        code, raw = http("POST", serve.url + "/v1/cloudevents", key, body,
                         "application/cloudevents-batch+json")
        if code in (429, 503):
            time.sleep(0.05)
            continue
        return code, (json.loads(raw) if raw else {})


# ----------------------------------------------------------------------------- kill


def input_sums(sellout: str, data: Path) -> dict:
    """What the input tables hold, per category and kind."""
    sums = {}
    for row in sql(sellout, data, "SELECT event_id, category_id, kind, COUNT(*) AS n, "
                   "SUM(quantity) AS q, SUM(quantity * unit_price_minor) AS amount "
                   "FROM sales GROUP BY 1, 2, 3"):
        sums[f"sales/{row['event_id']}/{row['category_id']}/{row['kind']}"] = [
            row["n"], row["q"], row["amount"]]
    for table in INPUT_TABLES[1:]:
        n = sql(sellout, data, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
        sums[table] = [n]
    return sums


def output_sums(sellout: str, data: Path) -> dict:
    """What the pipelines, the repricer and the notifier left, per category/campaign."""
    out = {}
    for row in sql(sellout, data, "SELECT kind, COUNT(*) AS n, COUNT(DISTINCT id) AS ids "
                   "FROM signals GROUP BY kind"):
        out[f"signals/{row['kind']}"] = [row["n"], row["ids"]]
    row = sql(sellout, data, "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM features")[0]
    out["features"] = [row["n"], row["ids"]]
    for row in sql(sellout, data, "SELECT event_id, category_id, COUNT(*) AS n, "
                   "LAST_VALUE(new_minor ORDER BY time, id) AS last FROM prices GROUP BY 1, 2"):
        out[f"prices/{row['event_id']}/{row['category_id']}"] = [row["n"], row["last"]]
    return out


def deliveries(sellout: str, data: Path) -> dict:
    rows = sql(sellout, data, "SELECT campaign_id, outcome, COUNT(*) AS n, "
               "COUNT(DISTINCT notification_id) AS ids FROM deliveries GROUP BY 1, 2")
    return {f"{r['campaign_id']}/{r['outcome']}": [r["n"], r["ids"]] for r in rows}


CART_REMINDER = """
[[campaign]]
id = "cart-reminder"
description = "seats left in a cart"
trigger = { kind = "cart_abandoned", value_above_minor = 5000 }
offer = { kind = "ticket", percent = 5 }
validity_minutes = 30
caps = { per_day = 3 }
default_locale = "en"

[campaign.templates.en]
title = "Your seats are still waiting"
body = "$(offer.percent)% off with $(voucher.code)"
"""


def campaigns_toml(catalog: dict) -> str:
    parts = [CART_REMINDER]
    for event in catalog["events"]:
        parts.append(f"""
[[campaign]]
id = "surge-{event['event_id']}"
description = "selling fast"
event_id = "{event['event_id']}"
trigger = {{ kind = "surge" }}
audience = {{ tags = "fan" }}
validity_minutes = 1440
caps = {{ per_day = 6, per_hour = 2 }}
default_locale = "en"

[campaign.templates.en]
title = "Selling fast"
body = "$(event) is selling fast"
""")
    return "".join(parts)


def customers_of(records: Path, n: int) -> list[str]:
    """The first `n` distinct customers of the records, in file order."""
    seen: dict[str, None] = {}
    with records.open() as f:
        for line in f:
            c = json.loads(line)["data"].get("customer_id")
            if c and c not in seen:
                seen[c] = None
                if len(seen) == n:
                    break
    return list(seen)


def push_token(i: int) -> str:
    """Installation `i`'s device token: APNs for odd, FCM for even."""
    return f"{i:064x}" if i % 2 else f"fcm-token-{i:08d}"


def key_file_secrets(keys: Path) -> list[str]:
    """Every secret in the data directory's key files (quote, voucher keys, APNs JWT)."""
    found = []
    for path in keys.glob("*.json"):
        text = path.read_text()
        for field in ("secret_hex", "secret", "key_hex", "jwt"):
            found += [m.split('"')[0] for m in text.split(f'"{field}": "')[1:]]
            found += [m.split('"')[0] for m in text.split(f'"{field}":"')[1:]]
    return [f for f in found if len(f) >= 16]


def secrets_in_logs(logs: Path, secrets: dict[str, list[str]]) -> dict[str, int]:
    """How many of each kind of secret appear in any log (kinds only, never values)."""
    text = "".join(p.read_text(errors="replace") for p in logs.iterdir() if p.is_file())
    return {kind: sum(1 for v in values if v and v in text)
            for kind, values in secrets.items()}


def register_installations(url: str, key: str, customers: list[str]) -> None:
    """One installation per customer (half APNs, half FCM), tagged `fan`."""
    for i, customer in enumerate(customers):
        platform = "apns" if i % 2 else "fcm"
        token = push_token(i)
        body = json.dumps({"installationId": f"ins-{i:05d}", "platform": platform,
                           "pushChannel": token, "locale": "en", "customerId": customer,
                           "tags": ["fan", f"customer:{customer}"]}).encode()
        code, raw = http("PUT", f"{url}/v1/installations/ins-{i:05d}", key, body)
        if code >= 300:
            raise RuntimeError(f"installation {i}: {code} {raw[:200]!r}")


def start_endpoints(a, tmp: Path, logs: Path, name: str,
                    extra: list[str] = ()) -> tuple[subprocess.Popen, Path]:
    """`sellout endpoints` of its own for one run, and a config layer that sends to it
    and replays history: triggers planned as of their own time (deterministic), and a
    source silent for 2 s of processing time no longer holds the watermark, so the last
    windows close before outputs are compared."""
    endpoints = spawn([a.sellout, "endpoints", "--dir", str(tmp / f"endpoints-{name}"), *extra],
                      stdout=subprocess.PIPE, text=True,
                      stderr=open(logs / f"endpoints-{name}.err", "w"))
    config = Path(json.loads(endpoints.stdout.readline())["config"])
    with config.open("a") as f:
        f.write("\n[notifier]\nreplay_lag_ms = 60000\n"
                "\n[pipelines.watermark]\nidle_timeout_ms = 2000\n")
    return endpoints, config


def scenario_kill(a, tmp: Path, logs: Path) -> dict:
    rng = random.Random(a.seed)
    gen = tmp / "gen"
    records = tmp / "records.jsonl"
    run([a.sellout, "--data-dir", str(gen), "simulate", "--seed", str(a.seed), "--scale",
         str(a.scale), "--limit", str(a.records), "--out", str(records)])
    sent = sum(1 for _ in records.open())
    chunks = chunks_of(records, a.batch)
    catalog = json.loads((gen / "catalog.json").read_text())
    customers = customers_of(records, a.installations)

    runs = {}
    secrets: dict[str, list[str]] = {
        "customer ids": customers,
        "push tokens": [push_token(i) for i in range(len(customers))],
    }
    for name, kills in (("reference", 0), ("faulted", a.kills)):
        data = tmp / name
        data.mkdir()
        # Endpoints of their own per run (notification ids are the same in both runs),
        # outliving every kill of the server.
        endpoints, notifier_config = start_endpoints(a, tmp, logs, name)
        shutil.copy(gen / "catalog.json", data / "catalog.json")
        (data / "campaigns.toml").write_text(campaigns_toml(catalog))
        ingest_key = new_key(a.sellout, data, "ingest")
        admin_key = new_key(a.sellout, data, "admin")
        # The reference run logs at debug level: its logs are searched for secrets.
        env = dict(os.environ, RUST_LOG="debug") if name == "reference" else None
        # Phase 1: ingest only, killed while requests are in flight.
        serve = Serve(a.sellout, data, notifier_config, logs,
                      ["--no-pipelines", "--no-repricer"], env)
        serve.start()
        register_installations(serve.url, ingest_key, customers)
        kill_at = set(rng.sample(range(1, len(chunks)), min(kills // 2, len(chunks) - 1)))
        accepted = duplicates = 0
        for i, body in enumerate(chunks):
            if i in kill_at:
                # The request is in flight (or done, or not yet read) when the kill lands.
                t = threading.Thread(target=lambda: post_chunk_quiet(serve, ingest_key, body))
                t.start()
                time.sleep(rng.uniform(0.0, 0.05))
                serve.kill()
                t.join()
                serve.start()
            code, report = post_chunk(serve, ingest_key, body)
            if code != 200:
                raise RuntimeError(f"chunk {i}: {code} {report}")
            accepted += report.get("accepted", 0)
            duplicates += report.get("duplicates", 0)
        serve.stop()
        # Phase 2: processing over the complete log, killed at random moments.
        serve = Serve(a.sellout, data, notifier_config, logs, (), env)
        serve.start()
        processing_kills = kills - len(kill_at)
        for _ in range(processing_kills):
            time.sleep(rng.uniform(0.2, a.kill_spacing_s))
            serve.kill()
            serve.start()
        wait_quiet(serve, admin_key)
        serve.stop()
        endpoints.send_signal(signal.SIGTERM)
        out, _ = endpoints.communicate(timeout=30)
        secrets[f"{name} ingest key"] = [ingest_key]
        secrets[f"{name} admin key"] = [admin_key]
        secrets[f"{name} key files"] = key_file_secrets(data / "keys")
        runs[name] = {"endpoints": last_json(out)["endpoints"],
                      "inputs": input_sums(a.sellout, data),
                      "outputs": output_sums(a.sellout, data),
                      "deliveries": deliveries(a.sellout, data),
                      "accepted_reports": accepted, "duplicate_reports": duplicates}

    ref, got = runs["reference"], runs["faulted"]
    records_in = lambda r: sum(v[0] for v in r["inputs"].values())  # noqa: E731
    lost = max(0, records_in(ref) - records_in(got))
    doubled = max(0, records_in(got) - records_in(ref))
    diff = {k: (ref[k], got[k]) for k in ("inputs", "outputs") if ref[k] != got[k]}
    planned = lambda r: sum(v[1] for k, v in r["deliveries"].items() if k.endswith("/planned"))  # noqa: E731
    outcomes = lambda r: sum(v[1] for k, v in r["deliveries"].items()  # noqa: E731
                             if k.rsplit("/", 1)[1] in ("delivered", "failed", "pruned"))
    return {
        "records": sent,
        "kill_runs": a.kills,
        "records_lost": lost,
        "records_doubled": doubled,
        "outputs_equal": "outputs" not in diff,
        "inputs_equal": "inputs" not in diff,
        "differences": {k: v for k, v in diff.items()},
        "compared": {
            "input_records": records_in(ref),
            "signals": sum(v[0] for k, v in ref["outputs"].items() if k.startswith("signals/")),
            "features": ref["outputs"].get("features", [0])[0],
            "price_changes": sum(v[0] for k, v in ref["outputs"].items() if k.startswith("prices/")),
            "categories_priced": sum(1 for k in ref["outputs"] if k.startswith("prices/")),
        },
        "deliveries_reference": ref["deliveries"],
        "deliveries_faulted": got["deliveries"],
        "planned_equal": planned(ref) == planned(got),
        "interrupted": planned(got) - outcomes(got),
        "duplicates": sum(r["endpoints"][p]["duplicates"] for r in (ref, got)
                          for p in ("apns", "fcm")) + doubled,
        "secrets_in_logs": secrets_in_logs(logs, secrets),
        "log_bytes": sum(p.stat().st_size for p in logs.iterdir()),
        "endpoints_reference": ref["endpoints"],
        "endpoints_faulted": got["endpoints"],
    }


def post_chunk_quiet(serve: Serve, key: str, body: bytes) -> None:
    try:
        http("POST", serve.url + "/v1/cloudevents", key, body,
             "application/cloudevents-batch+json", timeout=30)
    except Exception:  # noqa: BLE001 - the server is being killed under it
        pass


def wait_quiet(serve: Serve, admin_key: str, stable_polls: int = 5) -> None:
    """Waits until the outputs stop growing (the server has caught up)."""
    query = json.dumps({"sql": "SELECT (SELECT COUNT(*) FROM signals) + (SELECT COUNT(*) "
                        "FROM features) + (SELECT COUNT(*) FROM prices) + (SELECT COUNT(*) "
                        "FROM deliveries) AS n"}).encode()
    last, same = None, 0
    deadline = time.monotonic() + 600
    while same < stable_polls:
        code, raw = http("POST", serve.url + "/v1/sql", admin_key, query)
        if code not in (200, 503):
            raise RuntimeError(f"POST /v1/sql: {code} {raw[:200]!r}")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not settle within 10 minutes")
        n = json.loads(raw)["rows"][0]["n"] if code == 200 else None
        same = same + 1 if (n is not None and n == last) else 0
        last = n
        time.sleep(1.0)


# ------------------------------------------------------------------------- overload

WRK_COUNTING = r"""
-- Counts statuses, 503s/429s without Retry-After and, for ingest, records accepted.
c200, c429, c503, cother, no_retry, accepted = 0, 0, 0, 0, 0, 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
    local n = string.match(body, '"accepted":(%d+)')
    if n then accepted = accepted + tonumber(n) end
  elseif status == 429 or status == 503 then
    if status == 429 then c429 = c429 + 1 else c503 = c503 + 1 end
    if headers["Retry-After"] == nil and headers["retry-after"] == nil then
      no_retry = no_retry + 1
    end
  else
    cother = cother + 1
  end
end
function done(summary, latency, requests)
  local t = {c200 = 0, c429 = 0, c503 = 0, cother = 0, no_retry = 0, accepted = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  io.write(string.format(
    '{"wrk":{"requests":%d,"ok":%d,"shed_429":%d,"shed_503":%d,"other":%d,' ..
    '"no_retry_after":%d,"accepted":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}}\n',
    summary.requests, t.c200, t.c429, t.c503, t.cother, t.no_retry, t.accepted,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""

WRK_INGEST = r"""
-- Every request a new body of 100 sales (unique sessions), so none is a re-send.
local n = 0
request = function()
  n = n + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format(
      '{"kind":"view","event_id":"%s","category_id":"%s","session_id":"w%d-%d-%d",' ..
      '"quantity":0,"unit_price_minor":%d,"currency":"%s","channel":"web","time":"%s"}',
      EVENT, CATEGORY, id or 0, n, i, PRICE, CURRENCY, TIME)
  end
  return wrk.format("POST", nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(url: str, key: str, seconds: int, connections: int, script: str, tmp: Path,
        extra: str = "") -> dict:
    lua = tmp / "wrk.lua"
    lua.write_text(extra + WRK_COUNTING)
    out = run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
               "-s", str(lua), url])
    return last_json(out)["wrk"]


def probe(url: str, key: str, n: int, gap_s: float) -> list[tuple[int, float]]:
    """`n` GETs `gap_s` apart: (status, milliseconds) each."""
    got = []
    for _ in range(n):
        t0 = time.monotonic()
        try:
            code, _ = http("GET", url, key, timeout=10)
        except Exception:  # noqa: BLE001 - counted as a failure
            code = 0
        got.append((code, (time.monotonic() - t0) * 1000))
        time.sleep(gap_s)
    return got


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 3)


def scenario_overload(a, tmp: Path, logs: Path) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    data = tmp / "overload"
    run([a.sellout, "--data-dir", str(data), "simulate", "--seed", str(a.seed), "--scale",
         "0.05", "--limit", "10", "--out", str(tmp / "overload.jsonl")])
    catalog = json.loads((data / "catalog.json").read_text())
    event = catalog["events"][0]
    category = event["categories"][0]
    portal, ingest = new_key(a.sellout, data, "portal"), new_key(a.sellout, data, "ingest")
    serve = Serve(a.sellout, data, None, logs, ["--no-notifier"])
    serve.start()
    prices = f"{serve.url}/v1/events/{event['event_id']}/prices"
    for _ in range(200):  # warm up: the book is ready once the replica caught up
        if http("GET", prices, portal)[0] == 200:
            break
        time.sleep(0.05)

    # Pricing past saturation, with RSS sampled and an admitted-latency probe beside it.
    pid = serve.pid()
    samples: list[float] = []
    probes: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            stop.wait(1.0)

    def probing() -> None:
        while not stop.is_set():
            probes.extend(probe(prices, portal, 1, 0.2))

    threads = [threading.Thread(target=sample), threading.Thread(target=probing)]
    for t in threads:
        t.start()
    load = wrk(prices, portal, a.soak_seconds, a.soak_connections, "", tmp)
    stop.set()
    for t in threads:
        t.join()
    after = probe(prices, portal, 20, 0.05)
    warm = samples[min(5, len(samples) - 1)] if samples else 0.0
    rss_growth = round(max(samples[-5:], default=warm) - warm, 1)
    admitted = [ms for code, ms in probes if code == 200]

    # Ingest past what the log takes: 429s, and every record acknowledged is kept.
    time_now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    ingest_load = wrk(
        f"{serve.url}/v1/records/sales", ingest, a.ingest_seconds, 64, "", tmp,
        extra=f'EVENT, CATEGORY = "{event["event_id"]}", "{category["category_id"]}"\n'
        f'PRICE, CURRENCY, TIME = {category["list_price_minor"]}, "{category["currency"]}", '
        f'"{time_now}"\n' + WRK_INGEST)
    code, raw = http("GET", f"{serve.url}/v1/ingest/counters", ingest)
    stopped = serve.stop()
    in_log = sql(a.sellout, data, "SELECT COUNT(*) AS n FROM sales")[0]["n"]
    server_errors = load["other"] + ingest_load["other"]
    return {
        "pricing": load,
        "shed_ratio": round(load["shed_503"] / max(1, load["requests"]), 4),
        "admitted_probe_p50_ms": percentile(admitted, 50),
        "admitted_probe_p99_ms": percentile(admitted, 99),
        "admitted_probes": len(admitted),
        "recovered": all(code == 200 for code, _ in after),
        "recovery_max_ms": round(max((ms for _, ms in after), default=0), 3),
        "rss_mb_warm": round(warm, 1),
        "rss_mb_peak": round(max(samples, default=0), 1),
        "rss_growth_mb": rss_growth,
        "ingest": ingest_load,
        "ingest_records_in_log": in_log,
        "ingest_acknowledged": ingest_load["accepted"],
        "ingest_lost": max(0, ingest_load["accepted"] - in_log),
        "server_errors": server_errors,
        "clean_stop": "stopped" in stopped,
    }


# ---------------------------------------------------------------------------- storm


def scenario_storm(a, tmp: Path, logs: Path) -> dict:
    """Notifications through endpoints answering a share of requests with 429
    (`Retry-After`), 500, 503 or slowly, and APNs closing connections with GOAWAY."""
    gen = tmp / "storm-gen"
    records = tmp / "storm.jsonl"
    run([a.sellout, "--data-dir", str(gen), "simulate", "--seed", str(a.seed), "--scale",
         str(a.scale), "--limit", str(a.storm_records), "--out", str(records)])
    catalog = json.loads((gen / "catalog.json").read_text())
    data = tmp / "storm"
    data.mkdir()
    shutil.copy(gen / "catalog.json", data / "catalog.json")
    (data / "campaigns.toml").write_text(campaigns_toml(catalog))
    ingest_key, admin_key = new_key(a.sellout, data, "ingest"), new_key(a.sellout, data, "admin")
    endpoints, config = start_endpoints(
        a, tmp, logs, "storm",
        ["--storm", str(a.storm_share), "--storm-seed", str(a.seed), "--goaway-after", "50"])
    serve = Serve(a.sellout, data, config, logs)
    serve.start()
    register_installations(serve.url, ingest_key, customers_of(records, a.installations))
    for body in chunks_of(records, a.batch):
        post_chunk(serve, ingest_key, body)
    wait_quiet(serve, admin_key)
    serve.stop()
    endpoints.send_signal(signal.SIGTERM)
    out, _ = endpoints.communicate(timeout=30)
    pushed = last_json(out)["endpoints"]
    outcomes = {r["outcome"]: r["n"] for r in sql(
        a.sellout, data, "SELECT outcome, COUNT(DISTINCT notification_id) AS n "
        "FROM deliveries GROUP BY outcome")}
    twice = sql(a.sellout, data, "SELECT COUNT(*) AS n FROM (SELECT notification_id "
                "FROM deliveries WHERE outcome IN ('delivered', 'failed', 'pruned') "
                "GROUP BY notification_id HAVING COUNT(*) > 1) t")[0]["n"]
    attempts = sql(a.sellout, data, "SELECT MAX(attempts) AS most FROM deliveries")[0]["most"]
    failed = {r["reason"]: r["n"] for r in sql(
        a.sellout, data, "SELECT reason, COUNT(*) AS n FROM deliveries "
        "WHERE outcome = 'failed' GROUP BY reason")}
    resolved = sum(outcomes.get(k, 0) for k in ("delivered", "failed", "pruned"))
    return {
        "planned": outcomes.get("planned", 0),
        "outcomes": outcomes,
        "failed_reasons": failed,
        "unresolved": outcomes.get("planned", 0) - resolved,
        "outcome_twice": twice,
        "most_attempts": attempts,
        "endpoints": pushed,
        "storm_faults": pushed["apns"]["storm_faults"] + pushed["fcm"]["storm_faults"],
        "goaways": pushed["apns"]["goaways"],
        # Connections closed while the client was still sending, drained rather than
        # reset (a reset can drop the last answers: the client then re-sends them).
        "lingered": pushed["apns"].get("lingered", 0),
        "duplicates": pushed["apns"]["duplicates"] + pushed["fcm"]["duplicates"],
        "max_in_flight": max(pushed["apns"]["max_in_flight"], pushed["fcm"]["max_in_flight"]),
    }


# --------------------------------------------------------------------------- outage

VM = "/usr/bin/victoria-metrics"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Store:
    """A victoria-metrics (InfluxDB line protocol on /api/v2/write) that can be stopped."""

    def __init__(self, data: Path, logs: Path):
        self.data, self.logs, self.port = data, logs, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = spawn([VM, f"-httpListenAddr=127.0.0.1:{self.port}",
                           f"-storageDataPath={self.data}", "-retentionPeriod=100y",
                           "-search.latencyOffset=0s", "-search.disableCache"],
                          stdout=subprocess.DEVNULL,
                          stderr=open(self.logs / "victoria-metrics.err", "a"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http("GET", self.url + "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("victoria-metrics did not come up")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def samples(self) -> int:
        import urllib.parse
        http("GET", self.url + "/internal/force_flush", timeout=30)
        query = urllib.parse.urlencode({"match[]": '{__name__=~".+"}'}).encode()
        code, raw = http("POST", self.url + "/api/v1/export", None, query,
                         "application/x-www-form-urlencoded", timeout=120)
        if code != 200:
            raise RuntimeError(f"export: {code}")
        return sum(len(json.loads(line)["values"]) for line in raw.splitlines() if line)


def scenario_outage(a, tmp: Path, logs: Path) -> dict:
    if not Path(VM).exists():
        raise RuntimeError(f"{VM} is not installed (apt-get install victoria-metrics)")
    store = Store(tmp / "vm", logs)
    store.start()
    data = tmp / "outage"
    records = tmp / "outage.jsonl"
    run([a.sellout, "--data-dir", str(data), "simulate", "--seed", str(a.seed + 1), "--scale",
         str(a.scale), "--limit", str(a.outage_records), "--out", str(records)])
    config = tmp / "outage.toml"
    config.write_text(f'[dashboards.influx]\nurl = "{store.url}"\n')
    key = new_key(a.sellout, data, "ingest")
    serve = Serve(a.sellout, data, config, logs, ["--no-notifier"])
    serve.start()
    chunks = chunks_of(records, a.batch)
    third = max(1, len(chunks) // 3)
    for body in chunks[:third]:
        post_chunk(serve, key, body)
    store.stop()
    # The store is down for the whole outage while records keep coming.
    outage_started = time.monotonic()
    middle = chunks[third:2 * third]
    for i, body in enumerate(middle):
        post_chunk(serve, key, body)
        due = outage_started + a.outage_seconds * (i + 1) / max(1, len(middle))
        time.sleep(max(0.0, due - time.monotonic()))
    time.sleep(max(0.0, outage_started + a.outage_seconds - time.monotonic()))
    outage = round(time.monotonic() - outage_started, 1)
    store.start()
    for body in chunks[2 * third:]:
        post_chunk(serve, key, body)
    stopped = serve.stop()["stopped"]
    influx = stopped.get("influx") or {}
    samples = store.samples()
    store.stop()
    return {
        "outage_seconds": outage,
        "sink": influx,
        "samples_in_store": samples,
        "points_lost": influx.get("dropped", 0) + influx.get("spill_pending", 0),
        "recovered": influx.get("spill_pending", 1) == 0 and influx.get("written", 0) > 0,
    }


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sellout", default="target/release/sellout")
    ap.add_argument("--only", default="kill,storm,overload,outage",
                    help="comma-separated scenarios")
    ap.add_argument("--quick", action="store_true", help="small sizes for the test command")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--kill-spacing-s", type=float, default=3.0)
    ap.add_argument("--installations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--soak-seconds", type=int, default=60)
    ap.add_argument("--soak-connections", type=int, default=2000)
    ap.add_argument("--ingest-seconds", type=int, default=20)
    ap.add_argument("--outage-seconds", type=float, default=60)
    ap.add_argument("--storm-records", type=int, default=200_000)
    ap.add_argument("--storm-share", type=float, default=0.3)
    ap.add_argument("--outage-records", type=int, default=200_000)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.records, a.scale, a.kill_spacing_s = min(a.records, 60_000), 0.1, 1.5
        a.soak_seconds, a.ingest_seconds = 10, 5
        a.outage_records, a.storm_records = 30_000, 60_000
    tmp = Path(tempfile.mkdtemp(prefix="sellout-reliability-"))
    logs = tmp / "logs"
    logs.mkdir()
    report: dict = {"reliability": "sellout"}
    ok = True
    try:
        for name in a.only.split(","):
            t0 = time.monotonic()
            result = {"kill": scenario_kill, "overload": scenario_overload,
                      "outage": scenario_outage, "storm": scenario_storm}[name](a, tmp, logs)
            result["seconds"] = round(time.monotonic() - t0, 1)
            report[name] = result
            print(f"{name}: {json.dumps(result)}", file=sys.stderr)
        kill = report.get("kill", {})
        overload = report.get("overload", {})
        storm = report.get("storm", {})
        outage = report.get("outage", {})
        report.update({
            "kill_runs": kill.get("kill_runs"),
            "records_lost": kill.get("records_lost"),
            "duplicates": (kill.get("duplicates") or 0) + (storm.get("duplicates") or 0),
            "points_lost": outage.get("points_lost"),
            "server_errors": overload.get("server_errors"),
            "shed_ratio": overload.get("shed_ratio"),
            "rss_growth_mb": overload.get("rss_growth_mb"),
        })
        checks = {
            "kill": not kill or (kill["records_lost"] == 0 and kill["duplicates"] == 0
                                 and kill["outputs_equal"] and kill["inputs_equal"]
                                 and kill["planned_equal"]
                                 # Something of each kind was compared, prices included.
                                 and all(kill["compared"][k] > 0 for k in (
                                     "signals", "features", "price_changes"))
                                 and not any(kill["secrets_in_logs"].values())),
            "overload": not overload or (overload["server_errors"] == 0
                                         and overload["rss_growth_mb"] <= 50
                                         and overload["recovered"]
                                         and overload["ingest_lost"] == 0
                                         and overload["pricing"]["no_retry_after"] == 0
                                         and overload["ingest"]["no_retry_after"] == 0),
            "outage": not outage or (outage["points_lost"] == 0 and outage["recovered"]),
            "storm": not storm or (storm["duplicates"] == 0 and storm["outcome_twice"] == 0
                                   and storm["unresolved"] == 0 and storm["planned"] > 0
                                   and storm["storm_faults"] > 0 and storm["goaways"] > 0
                                   and (storm["most_attempts"] or 0) <= 5
                                   and storm["max_in_flight"] <= 512),
        }
        report["failed"] = [name for name, passed in checks.items() if not passed]
        ok = not report["failed"]
    finally:
        for proc in CHILDREN:
            if proc.poll() is None:
                proc.kill()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)
    report["ok"] = ok
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
