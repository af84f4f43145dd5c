"""Write a quality report's HTML and, if Chromium is installed, check that it renders (headless screenshot).

Installs nothing. On Debian: ``apt-get install -y chromium`` provides ``/usr/bin/chromium``. Without it
the script writes the HTML and says the screenshot was skipped.

Data: the census 50/50 split with a copula synthetic (as in ``qa_agreement.py``), or, when the census
file is absent, the simulated churn-like table split in three. One category is renamed to
``<script>alert(1)</script>`` to show that data is escaped (the page must render it as text).

Run: ``cd /work/main && OMP_WAIT_POLICY=PASSIVE /work/venv/bin/python benchmarks/render_report.py [OUT_DIR]``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_pipeline.quality import Gates, evaluate, render_html  # noqa: E402

CENSUS = ROOT.parent / "shared" / "data" / "census.csv.gz"
EVIL = "<script>alert(1)</script>"


def triple() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    from synth_pipeline.generators.registry import make_generator

    if CENSUS.exists():
        data, target = pd.read_csv(CENSUS), "income"
    else:  # pragma: no cover - only without the shared data
        from synth_pipeline.simulate import simulate_churn  # type: ignore[attr-defined]

        data, target = simulate_churn(6000, random_state=0), "churned"
    first = data.columns[[data[c].dtype == object or str(data[c].dtype) == "str" for c in data.columns]][0]
    data[first] = data[first].replace(data[first].value_counts().index[-1], EVIL)
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    training = data.iloc[order[:half]].reset_index(drop=True)
    holdout = data.iloc[order[half:]].reset_index(drop=True)
    synthetic = make_generator("copula", random_state=0).fit(training).sample(len(training))
    return training, holdout, synthetic, target


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(browser: str, page: Path, png: Path) -> bool:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1400,2000",
        "--virtual-time-budget=5000", page.resolve().as_uri(),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if completed.returncode != 0 or not png.exists():
        print("chromium failed:", completed.stderr[-2000:])
        return False
    return True


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="quality-report-"))
    out.mkdir(parents=True, exist_ok=True)
    training, holdout, synthetic, target = triple()
    report = evaluate(training, holdout, synthetic, target=target)
    page = render_html(report, out / "quality_report.html", gates=Gates(max_ims_training={"threshold": 0.0,
                                                                                       "blocking": False}))
    text = page.read_text(encoding="utf-8")
    assert EVIL not in text, "a category from the data reached the page unescaped"
    print(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB, {len(report.plots.univariate)} univariate plots, "
          f"{len(report.plots.bivariate)} heatmaps)")
    browser = find_chromium()
    if browser is None:
        print("no chromium found (Debian: apt-get install -y chromium); screenshot skipped")
        return
    png = out / "quality_report.png"
    if screenshot(browser, page, png):
        print(f"screenshot: {png} ({png.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
