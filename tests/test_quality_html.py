"""The HTML QA report: structure (banner, navigation, sections), size, escaping, and what a failed gate shows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.quality import Gates, QualityReport, check_gates, evaluate, render_html
from synth_pipeline.quality.html import page
from synth_pipeline.quality.report import ColumnNotLearned, ReportHeader, RuleAdherence
from synth_pipeline.simulate import simulate_churn

FAST = {"accuracy", "distances", "attacks"}
MAX_BYTES = 1_500_000


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: simulate_churn(3000, random_state=seed) for seed, name in enumerate(("training", "holdout", "fresh"))}


@pytest.fixture(scope="module")
def fresh_report(tables) -> QualityReport:
    report = evaluate(tables["training"], tables["holdout"], tables["fresh"], metrics=FAST)
    report.header = ReportHeader(dataset="churn", version=7, model_id="churn-0001", generator="copula",
                                 generated_at="2026-12-01T12:00:00+00:00")
    return report


def _ids_and_links(text: str) -> tuple[set[str], list[str]]:
    return set(re.findall(r'id="([^"]+)"', text)), re.findall(r'href="#([^"]+)"', text)


def test_page_has_banner_navigation_sections_and_stays_small(fresh_report, tmp_path):
    path = render_html(fresh_report, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert 20_000 < path.stat().st_size < MAX_BYTES
    assert "<script" not in text and "<link" not in text and not re.search(r'(src|href)="(https?:|//)', text)
    assert 'class="banner pass"' in text and "PASS: all 5 gates passed" in text
    assert text.index('id="verdict"') < text.index('id="gates"')  # the verdict comes first
    nav = text[text.index("<nav>") : text.index("</nav>")]
    for anchor in ("verdict", "gates", "summary", "accuracy", "pairs", "correlations", "privacy", "attacks",
                   "glossary"):
        assert f'href="#{anchor}"' in nav and f'id="{anchor}"' in text
    assert 'href="#rules"' not in nav  # nothing to show there
    # evaluate lists the id column it left out, so the page has a "Not learned" section for it
    assert [c.column for c in fresh_report.columns_not_learned] == ["customer_id"]
    assert 'href="#not-learned"' in nav and "customer_id" in text[text.index('id="not-learned"'):]
    ids, links = _ids_and_links(text)
    assert links and set(links) <= ids  # every link on the page leads somewhere
    for label, value in (("dataset", "churn"), ("snapshot version", "7"), ("model id", "churn-0001"),
                         ("generator", "copula"), ("generated", "2026-12-01T12:00:00+00:00")):
        assert f"<span>{label}</span><b>{value}</b>" in text
    # one chart per column, the weakest pairs as three maps each, the pair matrix, three correlation maps
    assert {f"u{j}" for j in range(len(fresh_report.plots.univariate))} <= ids
    assert {f"p{k}" for k in range(len(fresh_report.plots.bivariate))} <= ids
    n_maps = 3 * len(fresh_report.plots.bivariate) + 1 + 3
    assert text.count("<svg") >= len(fresh_report.plots.univariate) + n_maps
    assert "What the numbers mean" in text and "what is good" in text
    # the attacks, each number with its reading in words
    attacks = text[text.index('id="attacks"') :]
    assert "membership inference AUC" in attacks and "coin toss" in attacks
    assert "singling-out risk (Anonymeter)" in attacks and "linkability risk (Anonymeter)" in attacks
    r = fresh_report.attacks.reidentification
    assert "singling-out risk, multivariate (Anonymeter)" in attacks
    assert f"Of {r.singling_out_multivariate_predicates:,} statements combining 3 columns" in attacks
    assert "attribute inference gain: churn" not in attacks  # no target given: the stated rule chose
    assert all(f"attribute inference gain: {c}" in attacks for c in fresh_report.attacks.sensitive_columns)


def test_datetime_bin_labels_are_shown_whole(fresh_report):
    text = page(fresh_report, check_gates(fresh_report))
    plot = next(p for p in fresh_report.plots.univariate if p.column == "signup_date")
    regular = [label for label in plot.labels if label.startswith("[")]
    assert len(regular) >= 5 and all(len(label) >= len("[2018-01-01, 2018-09-30)") for label in regular)
    for label in regular:
        assert f">{label}</text>" in text


def test_a_long_label_is_shortened_with_the_full_text_in_its_tooltip(tables):
    long_name = "a category whose name is much longer than any chart margin should be"
    training, fresh = tables["training"].copy(), tables["fresh"].copy()
    for table in (training, fresh):
        table.loc[table["contract"] == "Two year", "contract"] = long_name
    report = evaluate(training, tables["holdout"], fresh, metrics={"accuracy"})
    text = page(report, check_gates(report, Gates(max_dcr_share=None)))
    assert f"<title>{long_name}</title>{long_name[:47]}…</text>" in text


def test_correlation_matrices_and_per_column_bivariate_accuracy_are_in_the_report(fresh_report):
    c = fresh_report.plots.correlations
    n = len(fresh_report.metadata.columns)
    assert c.columns == fresh_report.metadata.columns and len(c.training) == len(c.synthetic) == n
    assert all(c.training[k][k] == 1.0 for k in range(n))
    training, synthetic, difference = (np.array(m) for m in (c.training, c.synthetic, c.difference))
    np.testing.assert_allclose(difference, synthetic - training, atol=2e-4)
    assert np.abs(difference).max() < 0.2  # a fresh real sample keeps the associations
    strongest = np.unravel_index(np.argmax(training - np.eye(n)), training.shape)
    assert training[strongest] > 0.3  # the simulated table has a real dependence to show
    column = fresh_report.columns[0]
    pairs = [p for p in fresh_report.accuracy.pairs if column.name in p.columns]
    assert len(pairs) == n - 1
    assert column.bivariate_accuracy == pytest.approx(np.mean([p.accuracy for p in pairs]))
    assert column.bivariate_accuracy_max == pytest.approx(np.mean([p.accuracy_max for p in pairs]))


def test_failed_gate_shows_which_gate_failed_and_where_to_look(tables, tmp_path):
    training, fresh = tables["training"], tables["fresh"]
    leaky = fresh.copy()
    leaky.iloc[:1200] = training.iloc[:1200].to_numpy()  # 40% of the rows are training rows
    leaky = leaky.astype(fresh.dtypes.to_dict())
    report = evaluate(training, tables["holdout"], leaky, metrics=FAST)
    text = render_html(report, tmp_path / "failed.html", gates=Gates(max_ims_training=0.01)).read_text()
    banner = text[text.index('id="verdict"') : text.index("</section>")]
    assert 'class="banner fail"' in text and "FAIL: not publishable" in banner
    assert "<b>max_dcr_share</b>" in banner and "<b>max_ims_training</b>" in banner
    assert "required ≤ 0.6" in banner and 'href="#privacy"' in banner and "worst subset" in banner
    assert "Passed: min_accuracy_ratio." in banner
    assert "FAIL (blocking)" in text[text.index('id="gates"') :]


def test_a_blocking_rule_violation_fails_the_banner_and_links_to_the_rules(fresh_report):
    entry = {"rule": "monthly_charges >= 0", "type": "range", "blocking": True, "rows_checked": 3000,
             "violations": 4, "success_share": 0.998667}
    report = fresh_report.model_copy(update={"rule_adherence": RuleAdherence(synthetic=[entry], training=[])})
    text = page(report, check_gates(report))
    banner = text[text.index('id="verdict"') : text.index("</section>")]
    assert "FAIL: not publishable" in banner and "rule monthly_charges &gt;= 0" in banner
    assert 'href="#rules"' in banner and 'id="rules"' in text and "<tr class='bad'>" in text
    warning = report.model_copy(update={"rule_adherence": RuleAdherence(synthetic=[{**entry, "blocking": False}],
                                                                         training=[])})
    assert "PASS with warnings" in page(warning, check_gates(warning))


def test_columns_not_learned_are_listed_and_escaped(fresh_report):
    evil = "<img src=x onerror=alert(3)>"
    report = fresh_report.model_copy(update={"columns_not_learned": [
        ColumnNotLearned(column="customer_id", kind="id", reason="an id: regenerated, not learned"),
        ColumnNotLearned(column=evil, kind="text", reason="free text"),
    ]})
    text = page(report, check_gates(report))
    assert 'href="#not-learned"' in text and 'id="not-learned"' in text
    assert "<td>customer_id</td><td>id</td><td>an id: regenerated, not learned</td>" in text
    assert evil not in text and "&lt;img src=x onerror=alert(3)&gt;" in text
    assert QualityReport.from_json(report.to_json()).columns_not_learned == report.columns_not_learned


def test_no_gates_is_said_plainly(fresh_report):
    gates = Gates(min_accuracy_ratio=None, max_dcr_share=None, max_ims_training=None, max_mia_auc=None,
                  max_attribute_inference_gain=None)
    text = page(fresh_report, check_gates(fresh_report, gates))
    assert "NO GATES: nothing was checked" in text and "No gates configured." in text
