"""Write a passing and a failed-gate QA report as HTML, print their sizes, and check them in headless Chromium.

Installs nothing. On Debian, ``apt-get install -y chromium`` provides ``/usr/bin/chromium``. Without it
the script writes the HTML and the JSON and says the screenshots were skipped.

Data: census split 50/50 (``numpy.random.default_rng(0).permutation``), synthetic from the Gaussian copula
(``random_state=0``), as in ``qa_agreement.py``; when the census file is absent, the simulated churn table
split in three. One category is renamed to ``<script>alert(1)</script>`` and one column to
``<b onmouseover=alert(2)>...`` to show that data is escaped (the page must render them as text).

* **passing**: the copula's synthetic table under the default gates;
* **failed gate**: the same table with 30% of its rows replaced by training rows (a leak), under the default
  gates plus a blocking ``max_ims_training`` of 1%: the DCR share and identical-row gates fail.

Each report carries the header the lifecycle fills (dataset, version, model id, generator, date). The script
checks that no data string reached the page unescaped and that the page loads nothing (no script, no
``src``/``href`` to another address), then takes two screenshots per report with networking switched off
(``--window-size`` first screen, and a tall one of the whole page), and writes
``benchmarks/results/render_report.json``.

Run: ``cd /work/main && OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/render_report.py [OUT_DIR]``
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_pipeline.quality import Gates, QualityReport, check_gates, evaluate, render_html  # noqa: E402
from synth_pipeline.quality.html_sections import verdict  # noqa: E402
from synth_pipeline.quality.report import ReportHeader  # noqa: E402

CENSUS = ROOT.parent / "shared" / "data" / "census.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "render_report.json"
EVIL = "<script>alert(1)</script>"
EVIL_COLUMN = "<b onmouseover=alert(2)>"
LEAK_SHARE = 0.3
FIRST_SCREEN = (1400, 1000)


def triple() -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """(dataset name, training, holdout, copula synthetic, target) with one evil category and column name."""
    from synth_pipeline.generators.registry import make_generator

    if CENSUS.exists():
        name, data, target = "census", pd.read_csv(CENSUS), "income"
    else:  # pragma: no cover - only without the shared data
        from synth_pipeline.simulate import simulate_churn

        name, data, target = "simulated churn", simulate_churn(20_000, random_state=0), "churn"
    labels = [c for c in data.columns if data[c].dtype == object or str(data[c].dtype) == "str"]
    first = next(c for c in labels if c != target)
    data[first] = data[first].replace(data[first].value_counts().index[-1], EVIL)
    data = data.rename(columns={first: EVIL_COLUMN + first})
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    training = data.iloc[order[:half]].reset_index(drop=True)
    holdout = data.iloc[order[half:]].reset_index(drop=True)
    synthetic = make_generator("copula", random_state=0).fit(training).sample(len(training))
    return name, training, holdout, synthetic, target


def leaky(synthetic: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """``synthetic`` with its first ``LEAK_SHARE`` of rows replaced by training rows."""
    out = synthetic.copy()
    n = int(LEAK_SHARE * len(out))
    out.iloc[:n] = training.iloc[:n][out.columns].to_numpy()
    return out.astype(synthetic.dtypes.to_dict())


def check_page(text: str) -> dict[str, bool]:
    """Properties of a safe, self-contained page."""
    return {
        "data_escaped": EVIL not in text and EVIL_COLUMN not in text and "alert(1)" in text,
        "no_script": "<script" not in text.lower(),
        "loads_nothing": not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text, re.IGNORECASE)
        and "<link" not in text.lower() and "@import" not in text,
    }


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(browser: str, page: Path, png: Path, size: tuple[int, int]) -> bool:
    """A headless screenshot of ``page`` with networking off (a proxy that does not exist, no DNS)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
        "--hide-scrollbars", "--virtual-time-budget=5000", page.resolve().as_uri(),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if completed.returncode != 0 or not png.exists():
        print("chromium failed:", completed.stderr[-2000:])
        return False
    return True


def page_height(report: QualityReport) -> int:
    """A generous height for the whole-page screenshot (charts in a three-column grid, tables, maps)."""
    charts = sum(60 + 21 * len(p.labels) for p in report.plots.univariate) / 3
    pairs = sum(320 + 18 * len(p.row_labels) for p in report.plots.bivariate)
    return int(3500 + charts + pairs + 30 * len(report.columns) + 900)


def write_report(name: str, out: Path, report: QualityReport, gates: Gates, browser: str | None) -> dict:
    started = time.perf_counter()
    page = render_html(report, out / f"{name}.html", gates=gates, title=f"{report.header.dataset}: synthetic "
                       "data quality")
    seconds = time.perf_counter() - started
    text = page.read_text(encoding="utf-8")
    results = check_gates(report, gates)
    entry = {
        "file": page.name, "bytes": page.stat().st_size, "render_seconds": round(seconds, 3),
        "verdict": verdict(results, report), "failed_gates": [r.name for r in results if not r.passed],
        "svg_charts": text.count("<svg"), **check_page(text),
    }
    assert entry["data_escaped"] and entry["no_script"] and entry["loads_nothing"], entry
    if browser is not None:
        for shot, size in (("first_screen", FIRST_SCREEN), ("full_page", (1400, page_height(report)))):
            png = out / f"{name}_{shot}.png"
            entry[f"{shot}_png"] = png.name if screenshot(browser, page, png, size) else None
            if entry[f"{shot}_png"]:
                entry[f"{shot}_png_bytes"] = png.stat().st_size
    print(f"{name:>12}: {entry['bytes'] / 1e6:.3f} MB, {entry['svg_charts']} SVG charts, verdict {entry['verdict']}"
          f" (failed: {', '.join(entry['failed_gates']) or 'none'}), rendered in {seconds:.2f} s -> {page}")
    return entry


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="quality-report-"))
    out.mkdir(parents=True, exist_ok=True)
    dataset, training, holdout, synthetic, target = triple()
    browser = find_chromium()
    if browser is None:
        print("no chromium found (Debian: apt-get install -y chromium); screenshots skipped")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    cases = {
        "passing": (synthetic, Gates(), 1),
        "failed_gate": (leaky(synthetic, training), Gates(max_ims_training=0.01), 2),
    }
    entries = {}
    for name, (table, gates, version) in cases.items():
        report = evaluate(training, holdout, table, target=target)
        report.header = ReportHeader(dataset=dataset, version=version, model_id=f"{dataset}-copula-demo",
                                     generator="copula", generated_at=now)
        entries[name] = write_report(name, out, report, gates, browser)
    chromium = None
    if browser is not None:
        chromium = subprocess.run([browser, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    summary = {"dataset": dataset, "rows_training": len(training), "columns": training.shape[1],
               "chromium": chromium, "out_dir": str(out), "reports": entries}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
