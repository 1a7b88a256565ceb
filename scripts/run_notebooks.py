#!/usr/bin/env python3
"""Runs the analyst notebooks headless against a fresh demo data directory.

    python3 scripts/run_notebooks.py --sellout target/debug/sellout

1. Refuses committed notebooks that carry outputs or execution counts (they must be stripped).
2. Makes a temporary directory and runs `sellout demo --duration 0s --scale 0.02 --seed 7
   --headless` there; the demo's last stdout line (its JSON summary) is saved as
   `<data>/demo-summary.json`.
3. Executes every notebooks/*.ipynb in name order with nbclient (a Python 3 kernel on this
   interpreter, cwd notebooks/, SELLOUT_DATA=<data>, matplotlib's Agg backend), in memory:
   nothing is written back to the repository.
4. Prints one line per notebook with its wall time; exits 1 naming the notebook and cell that
   failed, with the error.

`--data-dir DIR` skips the demo and reads an existing data directory instead (handy while
editing a notebook). Needs the packages of notebooks/requirements.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEMO_ARGS = ["demo", "--duration", "0s", "--scale", "0.02", "--seed", "7", "--headless"]


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def fail(message: str) -> None:
    print(f"run_notebooks: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def check_stripped(paths: list[Path]) -> None:
    """Outputs and execution counts must not be committed."""
    import nbformat

    dirty = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count") is not None:
                dirty.append(f"{shown(path)} cell {i}")
    if dirty:
        fail(
            "notebooks must be committed without outputs or execution counts; strip them "
            "(e.g. `jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`): "
            + ", ".join(dirty)
        )


def run_demo(sellout: Path, data_dir: Path, timeout_s: int) -> None:
    cmd = [str(sellout), "--data-dir", str(data_dir), *DEMO_ARGS]
    print(f"==> {' '.join(cmd)}", flush=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        fail(f"the demo did not finish in {timeout_s} s")
    if proc.returncode != 0:
        fail(f"the demo exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        fail("the demo printed no summary line")
    try:
        summary = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        fail(f"the demo's last stdout line is not JSON ({e}): {lines[-1][:200]}")
    (data_dir / "demo-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"    demo took {time.monotonic() - started:.1f} s", flush=True)


def kernel_name(scratch: Path) -> str:
    """A kernelspec for this very interpreter (the one the requirements were installed into),
    installed into the scratch dir and put first on JUPYTER_PATH, so a `python3` kernelspec of
    some other Python on the machine can't be picked up by mistake."""
    prefix = scratch / "kernel-prefix"
    name = "sellout-notebooks"
    proc = subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        fail(f"could not install an ipykernel kernelspec for {sys.executable}:\n{proc.stderr[-2000:]}")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in [str(prefix / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p
    )
    return name


def execute(path: Path, kernel: str, timeout_s: int, save_to: Path | None) -> float:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=timeout_s,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        allow_errors=False,
    )
    started = time.monotonic()
    try:
        client.execute(cwd=str(NOTEBOOKS))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        cell_index = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
        where = f"cell {cell_index}" if cell_index is not None else "a cell"
        message = ANSI.sub("", str(e))
        fail(f"{shown(path)} {where} failed after {time.monotonic() - started:.1f} s:\n{message[-6000:]}")
    wall = time.monotonic() - started
    # Nothing is written back to the repository; the executed copy only goes where asked.
    if save_to is not None:
        save_to.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save_to / path.name)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--sellout", type=Path, help="the sellout binary that runs the demo")
    src.add_argument("--data-dir", type=Path, help="read this existing data directory instead of running a demo")
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--demo-timeout", type=int, default=1800, help="seconds for the demo (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and say where it is")
    parser.add_argument("--save-executed", type=Path, help="also write the executed notebooks (with outputs) into this directory")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    args = parser.parse_args()

    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:
        fail(f"{e}; install the notebooks' packages: python3 -m pip install -r notebooks/requirements.txt")

    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        fail(f"no notebooks in {NOTEBOOKS}")
    check_stripped(sorted(NOTEBOOKS.glob("*.ipynb")))

    scratch = Path(tempfile.mkdtemp(prefix="sellout-notebooks-"))
    total_started = time.monotonic()
    try:
        # Everything the kernel and matplotlib would write (font cache, IPython history,
        # connection files) goes into the scratch dir; charts render with Agg in memory.
        for var, sub in [("MPLCONFIGDIR", "mpl"), ("IPYTHONDIR", "ipython"), ("JUPYTER_RUNTIME_DIR", "runtime")]:
            (scratch / sub).mkdir()
            os.environ[var] = str(scratch / sub)
        os.environ["MPLBACKEND"] = "Agg"
        os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"

        if args.data_dir:
            data_dir = args.data_dir.resolve()
            if not (data_dir / "archive").is_dir():
                fail(f"{data_dir} has no archive/")
        else:
            sellout = args.sellout.resolve() if args.sellout.exists() else shutil.which(str(args.sellout))
            if not sellout or not Path(sellout).is_file():
                fail(f"no sellout binary at {args.sellout} (build it with `cargo build`)")
            data_dir = scratch / "sellout-data"
            run_demo(Path(sellout), data_dir, args.demo_timeout)
        os.environ["SELLOUT_DATA"] = str(data_dir)

        kernel = kernel_name(scratch)
        save_to = args.save_executed.resolve() if args.save_executed else None
        if save_to is not None and save_to.is_relative_to(REPO):
            fail("--save-executed must be outside the repository (outputs are not committed)")
        for path in paths:
            wall = execute(path, kernel, args.cell_timeout, save_to)
            print(f"{shown(path)}: ok in {wall:.1f} s", flush=True)
        print(f"run_notebooks: {len(paths)} notebooks passed in {time.monotonic() - total_started:.1f} s", flush=True)
    finally:
        if args.keep:
            print(f"kept {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
