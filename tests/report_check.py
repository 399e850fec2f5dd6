"""Open a built Snakemake report in headless Chromium: check that its figures render, and take a screenshot.

Snakemake's HTML report is a single-page (React) app: figures are embedded as data URIs and drawn only when a
result is selected. :func:`check_report` therefore opens an *instrumented copy* of the report whose extra
script, once the app has rendered, (1) decodes every embedded image with the browser's own decoder and writes
what it found (name, size in pixels) into the page as JSON, and (2) opens one figure the way a click would
(``app.setView``), so that the screenshot shows a figure inside the report. The report itself is not changed.

Command line (README screenshot, or a manual check after ``snakemake --report results/report.html``)::

    python tests/report_check.py results/report.html --screenshot docs/report.png
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--disable-dev-shm-usage", "--mute-audio",
]
CHECK_ID = "sysvi-bench-report-check"

# Runs after the report's own scripts. `app`, `results` and `categories` are the report's globals.
INSTRUMENT_JS = r"""
<script id="sysvi-bench-instrument">
(function () {
  const SHOW = __SHOW__;
  // Probe images are added while the page parses, so the window's load event (which headless Chromium
  // waits for before dumping the DOM or taking the screenshot) waits until the browser has decoded them all.
  const probes = [];
  for (const [path, entry] of Object.entries(results)) {
    if (!String(entry.mime_type).startsWith("image/")) { continue; }
    const img = document.createElement("img");
    const probe = {path: path, name: entry.name, caption_chars: (entry.caption || "").length, status: "pending"};
    img.loading = "eager";
    img.style.display = "none";
    img.onload = function () { probe.status = "ok"; probe.width = img.naturalWidth; probe.height = img.naturalHeight; };
    img.onerror = function () { probe.status = "error"; };
    img.src = entry.data_uri;
    document.body.appendChild(img);
    probes.push(probe);
  }
  function ready(fn) {
    if (typeof app !== "undefined" && app && document.querySelector("#app").children.length) { fn(); }
    else { setTimeout(function () { ready(fn); }, 50); }
  }
  function finish() {
    const out = {figures: [], errors: [], categories: {}};
    for (const cat of Object.keys(categories)) { out.categories[cat] = Object.keys(categories[cat]); }
    for (const p of probes) {
      if (p.status === "ok" && p.width > 0) { out.figures.push(p); } else { out.errors.push(p); }
    }
    let shown = null;
    if (SHOW) {
      for (const [cat, subcats] of Object.entries(categories)) {
        for (const [sub, paths] of Object.entries(subcats)) {
          for (const path of paths) {
            if (!shown && results[path].name === SHOW.name && (!SHOW.category || SHOW.category === cat)) {
              shown = {category: cat, subcategory: sub, path: path};
            }
          }
        }
      }
      if (shown) {
        app.setView({navbarMode: SHOW.sidebar || "subcategory", category: shown.category, subcategory: shown.subcategory,
                     content: "img", contentPath: results[shown.path].data_uri, resultPath: shown.path});
      }
    }
    out.shown = shown;
    const pre = document.createElement("pre");
    pre.id = "__CHECK_ID__";
    pre.style.display = "none";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  window.addEventListener("load", function () { ready(finish); });
})();
</script>
"""


@dataclass
class ReportCheck:
    """What Chromium saw: decoded figures, figure errors, categories, the figure shown, the DOM."""

    figures: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    shown: dict | None = None
    dom: str = ""
    screenshot: Path | None = None

    @property
    def figure_names(self) -> set[str]:
        return {f["name"] for f in self.figures}


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def instrument(report_html: Path | str, out_html: Path | str, show: dict | None = None) -> Path:
    """Copy of the report with the checking script appended.

    ``show``: the figure to open, {"name": file name, "category": optional, "sidebar": "subcategory" (its
    subcategory's entries) or "resultinfo" (its caption)}."""
    text = Path(report_html).read_text(encoding="utf-8")
    script = INSTRUMENT_JS.replace("__SHOW__", json.dumps(show)).replace("__CHECK_ID__", CHECK_ID)
    idx = text.rfind("</body>")
    if idx < 0:
        raise ValueError(f"{report_html}: not an HTML report (no </body>)")
    Path(out_html).write_text(text[:idx] + script + text[idx:], encoding="utf-8")
    return Path(out_html)


def _chromium(chromium: str, profile: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def check_report(
    report_html: Path | str,
    screenshot: Path | str | None = None,
    show: dict | None = None,
    window: tuple[int, int] = (1600, 1000),
    budget_ms: int = 20000,
    chromium: str | None = None,
    timeout: int = 180,
) -> ReportCheck:
    """Open the (instrumented) report in headless Chromium; return what rendered, optionally a screenshot.

    Raises FileNotFoundError without Chromium and RuntimeError when the page did not finish its checks.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium)")
    report_html = Path(report_html).resolve()
    if report_html.suffix == ".zip":
        raise ValueError("give the .html report (unzip a .zip report first)")
    with tempfile.TemporaryDirectory(prefix="report-check-") as tmp:
        tmp = Path(tmp)
        page = instrument(report_html, tmp / "report_checked.html", show)
        url = page.as_uri()
        size = f"--window-size={window[0]},{window[1]}"
        budget = f"--virtual-time-budget={budget_ms}"
        proc = _chromium(chromium, tmp / "profile-dom", size, budget, "--dump-dom", url, timeout=timeout)
        dom = proc.stdout
        match = re.search(rf'<pre id="{CHECK_ID}"[^>]*>(.*?)</pre>', dom, flags=re.S)
        if not match:
            raise RuntimeError(f"the report did not finish rendering in Chromium (rc {proc.returncode}): "
                               f"{proc.stderr[-2000:]}")
        import html as _html

        found = json.loads(_html.unescape(match.group(1)))
        check = ReportCheck(figures=found["figures"], errors=found["errors"], categories=found["categories"],
                            shown=found.get("shown"), dom=dom)
        if screenshot is not None:
            screenshot = Path(screenshot).resolve()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = _chromium(chromium, tmp / "profile-shot", size, budget, f"--screenshot={screenshot}", url,
                             timeout=timeout)
            if not screenshot.is_file():
                raise RuntimeError(f"Chromium wrote no screenshot (rc {shot.returncode}): {shot.stderr[-2000:]}")
            check.screenshot = screenshot
    return check


def image_stats(png: Path | str) -> dict[str, float]:
    """How much is drawn in a PNG: pixel standard deviation and the fraction of non-background pixels."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    background = np.bincount(pixels.astype(int).ravel(), minlength=256).argmax()
    return {"std": float(pixels.std()), "drawn_fraction": float(np.mean(np.abs(pixels - background) > 8)),
            "width": pixels.shape[1], "height": pixels.shape[0]}


def trim_bottom(png: Path | str) -> None:
    """Cut the blank band below the page (headless Chromium's viewport is shorter than its window)."""
    import numpy as np
    from PIL import Image

    image = Image.open(png).convert("RGB")
    pixels = np.asarray(image, dtype=int)
    background = pixels[-1, 0]
    drawn_rows = np.flatnonzero(np.abs(pixels - background).sum(axis=2).max(axis=1) > 24)
    if len(drawn_rows) and drawn_rows[-1] + 1 < image.height:
        image.crop((0, 0, image.width, int(drawn_rows[-1]) + 1)).save(png)


def shrink_png(png: Path | str, max_bytes: int = 300_000, max_width: int = 1400) -> None:
    """Downscale (and, if still too large, palette-quantise) a screenshot in place to at most ``max_bytes``."""
    from PIL import Image

    path = Path(png)
    image = Image.open(path).convert("RGB")
    width = min(max_width, image.width)
    while True:
        scaled = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        scaled.save(path, optimize=True)
        if path.stat().st_size > max_bytes:
            scaled.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
                path, optimize=True)
        if path.stat().st_size <= max_bytes or width < 500:
            return
        width = int(width * 0.85)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="the report HTML (snakemake --report results/report.html)")
    parser.add_argument("--screenshot", help="write a PNG screenshot here")
    parser.add_argument("--show", default="batch_vs_bio.png", help="figure (file name) to open for the screenshot")
    parser.add_argument("--category", default=None, help="category (dataset) of that figure; default: the first")
    parser.add_argument("--sidebar", default="resultinfo", choices=["resultinfo", "subcategory"],
                        help="sidebar next to the figure: its caption (resultinfo) or its subcategory's entries")
    parser.add_argument("--window", default="1500x1150", help="browser window WxH")
    parser.add_argument("--max-bytes", type=int, default=300_000, help="shrink the screenshot to this size")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.window.split("x"))
    check = check_report(args.report, args.screenshot, show={"name": args.show, "category": args.category, "sidebar": args.sidebar},
                         window=(width, height))
    print(f"{len(check.figures)} figures decoded, {len(check.errors)} failed; categories: "
          + ", ".join(f"{c} ({len(s)})" for c, s in check.categories.items()))
    for err in check.errors:
        print(f"  FAILED {err.get('name', '?')}: {err.get('status', 'not decoded')}", file=sys.stderr)
    if check.screenshot:
        trim_bottom(check.screenshot)
        shrink_png(check.screenshot, args.max_bytes)
        stats = image_stats(check.screenshot)
        print(f"screenshot {check.screenshot} ({check.screenshot.stat().st_size / 1e3:.0f} kB, "
              f"{stats['width']}x{stats['height']}, {stats['drawn_fraction']:.0%} drawn), showing {check.shown}")
    return 1 if check.errors or not check.figures else 0


if __name__ == "__main__":
    sys.exit(main())
