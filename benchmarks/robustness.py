"""The robustness probe set (issue 18): bad files, bad tables, bad configs, SQL-source abuse, concurrent and
killed runs, read-only warehouses, tampered models, planted rare and unique values, injection.

Every probe builds its input in a temporary directory of its own (small generated tables, never
../shared data), runs the real command line as a user would (``python -m assets.cli run CONFIG``,
``sample``, ``fit``, ``snapshots`` from the repo root, ``PYTHONPATH`` = the repo root, with timeouts),
and declares the outcome it must end in:

* ``error``     exit 2, exactly one ``error: ...`` line (the last on stderr), no traceback, naming the
  column / setting / path at fault;
* ``blocked``   exit 1, a blocking gate stopped publishing, no traceback;
* ``published`` ``run`` exit 0 (``ok`` for the other commands);
* ``intact``    (fault probes) everything published before the fault is unchanged, no partial version.

Post-conditions on top (a probe fails on any): no published snapshot holds training rows verbatim
beyond the source's own duplicate rate; no published report (HTML/JSON beside the warehouse) and no
snapshot holds a planted rare or unique real value; earlier versions survive faults; a refused config
creates nothing. The copula is used for speed, argn where a probe is about it.

Run: ``OMP_WAIT_POLICY=PASSIVE python benchmarks/robustness.py`` (``--jobs N`` probes at once, default 2;
``--only a,b`` / ``--group sql`` / ``--quick`` for subsets; ``--list``). Prints one line per probe
(name, expected, got, pass/FAIL, seconds, the line the command printed or what failed) and a summary,
writes ``benchmarks/results/robustness.json``, exits 1 when any probe fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import robustness_configs  # noqa: E402, F401 - registers its probes
import robustness_faults  # noqa: E402, F401
import robustness_inputs  # noqa: E402, F401
from robustness_harness import PROBES, ROOT, Probe, ProbeResult, dump, execute  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "robustness.json"


def select(args: argparse.Namespace) -> list[Probe]:
    chosen = list(PROBES)
    if args.only:
        names = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = names - {p.name for p in PROBES}
        if unknown:
            raise SystemExit(f"error: unknown probe(s): {', '.join(sorted(unknown))} (see --list)")
        chosen = [p for p in chosen if p.name in names]
    if args.group:
        chosen = [p for p in chosen if p.group == args.group]
    if args.quick:
        chosen = [p for p in chosen if p.quick]
    return chosen


def run_all(probes: list[Probe], jobs: int) -> list[ProbeResult]:
    # slow probes first, so the pool's tail is short
    slow_first = sorted(probes, key=lambda p: p.group not in ("kill", "concurrency", "planted value"))
    results: dict[str, ProbeResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for result in pool.map(execute, slow_first):
            results[result.name] = result
            print(result.line(), flush=True)
    return [results[p.name] for p in probes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="probes run at once (each starts its own processes)")
    parser.add_argument("--only", help="comma-separated probe names")
    parser.add_argument("--group", help="only the probes of this group")
    parser.add_argument("--quick", action="store_true", help="only the quick subset (the one tests/ runs)")
    parser.add_argument("--list", action="store_true", help="list the probes and exit")
    parser.add_argument("--json", type=Path, help=f"where to write the results (default: {RESULTS} for the whole set)")
    args = parser.parse_args(argv)
    probes = select(args)
    if args.list:
        for p in probes:
            print(f"{p.name:40s} {p.group:16s} {'|'.join(p.expect)}{'  (quick)' if p.quick else ''}")
        return 0
    print(f"{'probe':34s} {'expected':18s} {'got':26s} {'':4s} {'time':>7s}  detail")
    started = time.perf_counter()
    results = run_all(probes, args.jobs)
    seconds = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    print(
        f"\n{len(results) - len(failed)} of {len(results)} probes pass, {len(failed)} fail; {seconds:.0f} s with "
        f"{args.jobs} at once on {os.cpu_count()} cores"
    )
    for r in failed:
        print(f"FAIL {r.line()}")
    subset = bool(args.only or args.group or args.quick)
    if args.json is None and subset:
        return 1 if failed else 0
    dump(
        args.json or RESULTS,
        {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "jobs": args.jobs,
            "seconds": round(seconds, 1),
            "passed": len(results) - len(failed),
            "failed": len(failed),
            "probes": [r.__dict__ for r in results],
        },
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
