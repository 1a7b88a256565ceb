#!/usr/bin/env python3
"""API fuzzing of `sellout serve` against its own OpenAPI document (schemathesis).

What it checks, on a fresh server in a temporary data directory:

1. Keyed passes: schemathesis (`schemathesis run`, pinned in
   scripts/requirements-fuzz.txt) fuzzes the operations of each key kind with a key
   of that kind (`Authorization: Bearer <key>`): the portal pass also covers the
   public routes (/healthz, /readyz, /metrics, /openapi.json). Checks:
   - not_a_server_error: no 5xx (a 503 documented as load shedding still counts);
   - response_schema_conformance: every response body matches its documented schema;
   - status_code_conformance: every status code is documented;
   - content_type_conformance: every Content-Type is documented.
   Phases: examples, coverage, fuzzing (no stateful phase: the document has no links).
   Path parameters get the catalog's real ids as `examples` (in a copy of the document
   given to schemathesis; schemas are untouched), so the examples phase reaches past 404.
2. Auth pass (urllib, no schemathesis): every operation under /v1 answers 401 with no
   key and with an unknown key, and 403 with a key of another kind. In particular no
   admin route answers without the admin key.
3. SQL pass: POST /v1/sql with a few read-only queries that fail while running
   (division by zero, bad cast, ...) must be a 4xx, not a 5xx.
4. Shutdown: SIGTERM, and the server must exit 0.

Skipped on purpose: GET /v1/events/{event_id}/prices/stream in the fuzz passes (a
server-sent-events stream that does not end; its auth is still checked in pass 2).

Exit code 0 when everything passed, 1 otherwise, with a summary at the end.

    python3 -m pip install -r scripts/requirements-fuzz.txt
    python3 scripts/api_fuzz.py --sellout target/debug/sellout
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

KINDS = ("portal", "admin", "ingest")
SCHEME_OF = {"portal": "portalKey", "admin": "adminKey", "ingest": "ingestKey"}
METHODS = ("get", "put", "post", "patch", "delete")
# Never fuzzed: endless SSE stream (auth still checked).
FUZZ_EXCLUDE_PATH_REGEX = r"/prices/stream$"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
    ]
)


def run(cmd: list[str], **kw) -> str:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    return out.stdout


class Server:
    """A `sellout serve` on 127.0.0.1:0 in its own data directory."""

    def __init__(self, sellout: str, data: Path, logs: Path):
        self.sellout, self.data, self.logs = sellout, data, logs
        self.keys: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def prepare(self, seed: int) -> None:
        run([self.sellout, "--data-dir", str(self.data), "simulate", "--seed", str(seed),
             "--scale", "0.02", "--limit", "10", "--out", str(self.logs / "sim.jsonl")])
        for kind in KINDS:
            out = run([self.sellout, "--data-dir", str(self.data), "key", "new", "--kind", kind])
            self.keys[kind] = json.loads(out.strip().splitlines()[-1])["key"]

    def start(self, timeout: float = 60.0) -> None:
        self.stdout = open(self.logs / "serve.stdout", "w+")
        self.stderr = open(self.logs / "serve.stderr", "w")
        self.proc = subprocess.Popen(
            [self.sellout, "--data-dir", str(self.data), "serve", "--listen", "127.0.0.1:0"],
            stdout=self.stdout, stderr=self.stderr, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early ({self.proc.returncode}); see {self.logs}")
            first = (self.logs / "serve.stdout").read_text().splitlines()
            if first:
                self.url = json.loads(first[0])["serve"].rstrip("/")
                return
            time.sleep(0.1)
        raise RuntimeError("serve printed no address in time")

    def stop(self, timeout: float = 60.0) -> tuple[int | None, str]:
        if self.proc is None:
            return None, ""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        self.stdout.flush()
        lines = (self.logs / "serve.stdout").read_text().splitlines()
        return rc, (lines[-1] if lines else "")


def http(method: str, url: str, headers: dict[str, str] | None = None,
         body: bytes | None = None, timeout: float = 10.0) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def catalog_ids(data: Path) -> dict[str, str]:
    cat = json.loads((data / "catalog.json").read_text())
    ev = cat["events"][0]
    return {
        "event_id": ev["event_id"],
        "category_id": ev["categories"][0]["category_id"],
        "venue_id": cat["venues"][0]["venue_id"],
        "topic": "sales",
        "id": "fuzz-1",
    }


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def schemes(op: dict) -> set[str]:
    return {name for req in op.get("security") or [] for name in req}


def doc_for(doc: dict, kind: str, ids: dict[str, str]) -> dict:
    """The operations a `kind` key may call (plus public routes for portal),
    with real ids as examples of path parameters."""
    out = copy.deepcopy(doc)
    for path, item in list(out["paths"].items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            s = schemes(op)
            keep = SCHEME_OF[kind] in s or (not s and kind == "portal")
            if not keep:
                del item[method]
                continue
            for p in op.get("parameters", []):
                if p.get("in") == "path" and p["name"] in ids and "enum" not in p.get("schema", {}):
                    p.setdefault("examples", {"real": {"value": ids[p["name"]]}})
        if not any(m in item for m in METHODS):
            del out["paths"][path]
    return out


def fuzz(kind: str, key: str, doc_path: Path, base: str, args, report: Path) -> dict:
    cmd = [
        args.schemathesis, "run", str(doc_path), "--url", base,
        "-H", f"Authorization: Bearer {key}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        "--workers", str(args.workers),
        "--request-timeout", "10",
        "--continue-on-failure",
        "--report", "json", "--report-json-path", str(report),
        "--no-color",
    ]
    if kind == "portal":
        cmd += ["--exclude-path-regex", FUZZ_EXCLUDE_PATH_REGEX]
    print(f"\n=== schemathesis, {kind} key ===", flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, text=True, capture_output=True)
    print(proc.stdout[-20000:] if not args.verbose else proc.stdout)
    if proc.stderr.strip():
        print(proc.stderr[-4000:], file=sys.stderr)
    summary = {"kind": kind, "exit": proc.returncode, "seconds": round(time.monotonic() - t0, 1)}
    try:
        rep = json.loads(report.read_text())
        summary["failures"] = [
            f"{f['code']} {f['title']} x{f['count']}: {', '.join(f['operations'])}"
            for f in rep.get("failures", [])
        ]
        summary["errors"] = [json.dumps(e)[:300] for e in rep.get("errors", [])]
        summary["tested"] = rep["operations"]["tested"]
        summary["cases"] = rep["test_cases"]["generated"]
    except (OSError, ValueError, KeyError) as e:
        summary["failures"] = [f"no JSON report ({e}); schemathesis exit {proc.returncode}"]
    return summary


def auth_pass(doc: dict, base: str, keys: dict[str, str], ids: dict[str, str]) -> list[str]:
    """Every /v1 operation: 401 without a key or with an unknown key, 403 with a
    key of another kind."""
    problems = []
    checked = 0
    for path, method, op in operations(doc):
        if not path.startswith("/v1"):
            continue
        url = base + path.format(**ids)
        body = b"{}" if method in ("put", "post", "patch") else None
        ctype = {"Content-Type": "application/json"} if body else {}
        owner = {k for k, s in SCHEME_OF.items() if s in schemes(op)}
        if not owner:
            problems.append(f"{method.upper()} {path}: documented without security")
        cases = [("no key", {}, 401),
                 ("unknown key", {"Authorization": "Bearer so_admin_" + "0" * 64}, 401),
                 ("unknown X-Api-Key", {"X-Api-Key": "nope"}, 401)]
        cases += [(f"{k} key", {"Authorization": f"Bearer {keys[k]}"}, 403)
                  for k in KINDS if k not in owner]
        cases += [(f"{k} key as X-Api-Key", {"X-Api-Key": keys[k]}, 403)
                  for k in KINDS if k not in owner]
        for label, headers, want in cases:
            checked += 1
            try:
                got = http(method.upper(), url, {**headers, **ctype}, body)
            except Exception as e:  # noqa: BLE001 - report, don't stop
                got = f"error {e}"
            if got != want:
                problems.append(f"{method.upper()} {path} with {label}: got {got}, want {want}")
    print(f"\n=== auth pass: {checked} requests, {len(problems)} problems ===")
    for p in problems:
        print("  " + p)
    return problems


# Read-only queries that fail while they run (not while they are planned): a client
# error each, so never a 5xx. Cheap; the fuzzer's random strings never reach them.
SQL_PROBES = [
    "SELECT 1/0",
    "SELECT CAST('x' AS INT)",
    "SELECT sqrt(-1)",
    "SELECT to_timestamp('nope')",
    "SELECT regexp_match('a', '(')",
    # One call that would build gigabytes: refused before it allocates.
    "SELECT repeat('a', 2147483647)",
    "SELECT lpad('x', 2147483647)",
]


def sql_pass(base: str, admin_key: str) -> list[str]:
    """POST /v1/sql with queries that fail at run time: 4xx with a JSON error."""
    problems = []
    for q in SQL_PROBES:
        req = urllib.request.Request(
            base + "/v1/sql", data=json.dumps({"sql": q}).encode(), method="POST",
            headers={"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=35) as r:
                code, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read()
        except Exception as e:  # noqa: BLE001
            code, body = f"error {e}", b""
        if not (isinstance(code, int) and code < 500):
            problems.append(f"POST /v1/sql {q!r}: got {code} {body[:120]!r}, want 4xx")
    print(f"\n=== sql pass: {len(SQL_PROBES)} queries, {len(problems)} problems ===")
    for p in problems:
        print("  " + p)
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sellout", default="target/debug/sellout", help="the sellout binary")
    ap.add_argument("--max-examples", type=int, default=100,
                    help="schemathesis test cases per operation (default 100: about 30 s on 2 cores)")
    ap.add_argument("--seed", type=int, default=1, help="schemathesis and simulator seed")
    ap.add_argument("--workers", type=int, default=2, help="schemathesis workers")
    ap.add_argument("--schemathesis", default=shutil.which("schemathesis") or "schemathesis")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", action="store_true", help="print schemathesis output in full")
    args = ap.parse_args()

    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="sellout-fuzz-"))
    data, logs = tmp / "data", tmp / "logs"
    logs.mkdir(parents=True)
    server = Server(os.path.abspath(args.sellout), data, logs)
    failed: list[str] = []
    results = []
    try:
        server.prepare(args.seed)
        server.start()
        print(f"serving at {server.url} (data {data})", flush=True)
        with urllib.request.urlopen(server.url + "/openapi.json", timeout=10) as r:
            doc = json.load(r)
        ids = catalog_ids(data)
        for kind in KINDS:
            p = tmp / f"openapi-{kind}.json"
            p.write_text(json.dumps(doc_for(doc, kind, ids), indent=1))
            res = fuzz(kind, server.keys[kind], p, server.url, args, tmp / f"report-{kind}.json")
            results.append(res)
            failed += [f"[{kind}] {f}" for f in res["failures"] + res.get("errors", [])]
            if res["exit"] != 0 and not res["failures"] and not res.get("errors"):
                failed.append(f"[{kind}] schemathesis exit {res['exit']}")
        failed += [f"[auth] {p}" for p in auth_pass(doc, server.url, server.keys, ids)]
        failed += [f"[sql] {p}" for p in sql_pass(server.url, server.keys["admin"])]
    except Exception as e:  # noqa: BLE001
        failed.append(f"harness: {e!r}")
    finally:
        rc, last = server.stop()
        print(f"\n=== shutdown: exit {rc}; last line {last[:300]}")
        if rc != 0:
            failed.append(f"serve exited {rc} on SIGTERM (stderr: {logs / 'serve.stderr'})")
        try:
            if "stopped" not in json.loads(last):
                failed.append(f"last stdout line is not {{\"stopped\":...}}: {last[:200]}")
        except (ValueError, TypeError):
            failed.append(f"last stdout line is not JSON: {last[:200]}")

    print("\n=== summary ===")
    for r in results:
        print(f"  {r['kind']:6}: {r.get('tested', '?')} operations, {r.get('cases', '?')} cases, "
              f"{len(r['failures'])} failure kinds, {r['seconds']} s")
    print(f"  total {time.monotonic() - t0:.0f} s")
    if failed:
        print(f"FAILED ({len(failed)}):")
        for f in failed:
            print("  - " + f)
        print(f"logs and reports kept in {tmp}")
        return 1
    print("OK: no 5xx, no schema or status violations, auth holds, clean shutdown")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
