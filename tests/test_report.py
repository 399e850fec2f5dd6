"""The tiny run's figures, diagnostic and `snakemake --report`, opened in headless Chromium.

The Chromium part is skipped (with the reason) where no Chromium is installed; CI installs it (.ci/run).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import TINY_CONFIG, load_yaml, run_snakemake
from report_check import check_report, find_chromium, image_stats

FIGURES = ["results_table", "diagnostic", "batch_vs_bio", "sweep_scores", "sweep_metrics", "umap_best_runs",
           "training_curves", "runtime_memory", "cell_type_mixing"]
BENCHMARK_FIGURES = ["top_settings", "all_settings", "parameter_correlation"]
PAGES = ["sim/tables.html", "sim/diagnostic.html", "config_versions.html"]


@pytest.fixture(scope="module")
def report(tiny_run):
    """`snakemake --report` on the finished tiny run (same --directory and --configfile as the run)."""
    path = tiny_run / "results" / "report.html"
    proc = run_snakemake(tiny_run, "--report", str(path), config=load_yaml(TINY_CONFIG), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return path


def test_every_figure_family_is_written_as_png_and_pdf(tiny_run):
    figures = tiny_run / "results" / "figures" / "sim"
    for name in FIGURES:
        for ext in ("png", "pdf"):
            path = figures / f"{name}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    for page in PAGES:
        assert (tiny_run / "results" / "report" / page).stat().st_size > 500, page
    for name in BENCHMARK_FIGURES:
        for ext in ("png", "pdf"):
            path = tiny_run / "results" / "figures" / "benchmark" / f"{name}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path


def test_diagnostic_table_and_verdict(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "sim" / "diagnostic.tsv", sep="\t")
    assert set(table["cell_type"]) == {f"type_{i}" for i in range(4)}
    summary = pd.read_csv(tiny_run / "results" / "sim" / "diagnostic_summary.tsv", sep="\t")
    assert summary["strength"].iloc[0] in {"strong", "moderate", "weak"}
    text = (tiny_run / "results" / "sim" / "diagnostic.txt").read_text()
    assert "system effect" in text and "Suggested model family" in text


def test_tables_page_lists_the_failed_run_with_its_reason(tiny_run):
    page = (tiny_run / "results" / "report" / "sim" / "tables.html").read_text()
    assert "Failed runs (1)" in page and "broken__seed=0" in page and "pseudoinputs" in page
    assert "Model: " in page and "Setting" in page and "Embedding variants: raw and standardized" in page


def test_report_is_self_contained_with_every_figure_and_caption(report):
    html = report.read_text(encoding="utf-8")
    # no resource is fetched from elsewhere: scripts and styles are inline, results are data URIs
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", html)
    for name in FIGURES + BENCHMARK_FIGURES:
        assert f'"name": "{name}.png"' in html, f"{name}.png is not in the report"
    assert '"name": "benchmark_tests.tsv"' in html
    for page in ("tables.html", "diagnostic.html", "config_versions.html"):
        assert f'"name": "{page}"' in html
    assert len(re.findall(r'"data_uri": "data:image/png;[^"]*base64,', html)) >= len(FIGURES)
    assert "What to look for" in html  # captions rendered


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (CI installs it: apt-get install chromium)")
def test_report_renders_its_figures_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "report.png"
    check = check_report(report, screenshot=shot, show={"name": "batch_vs_bio.png", "sidebar": "subcategory"},
                         window=(1400, 1000))
    assert not check.errors, f"figures the browser could not decode: {check.errors}"
    assert {f"{name}.png" for name in FIGURES} <= check.figure_names
    assert all(f["width"] > 200 and f["height"] > 100 and f["caption_chars"] > 100 for f in check.figures)
    assert set(check.categories) == {"sim", "Benchmark"}
    assert any(sub.startswith("1 Diagnostic") for sub in check.categories["sim"])
    # the figure opened like a click: an <img> with the embedded PNG in the page, its entries in the sidebar
    assert check.shown and check.shown["path"].endswith("batch_vs_bio.png")
    assert re.search(r'<img src="data:image/png;[^"]*base64,', check.dom)
    assert "figure: batch correction vs bio conservation" in check.dom
    stats = image_stats(shot)
    assert stats["drawn_fraction"] > 0.05 and stats["std"] > 10, f"the screenshot looks blank: {stats}"
