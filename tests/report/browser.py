"""Loading a page in headless Chromium (Debian's ``chromium`` package): which images
decoded, and a screenshot. Tests that use it carry the ``browser`` mark and skip where
no Chromium is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next((path for name in ("chromium", "chromium-browser")
                 if (path := shutil.which(name))), None)  # fmt: skip


def requires_chromium(test):
    """Mark ``test`` as a browser test, skipped where Chromium is not installed."""
    needs = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
    return pytest.mark.browser(needs(test))


# As root (in CI containers) Chromium refuses its sandbox; nothing here is untrusted.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run")
TIMEOUT_S = 120
MARKER = "data-images-decoded"
# Counts the images that decoded (a complete image with a natural width), once every
# image has loaded or failed, and writes "decoded/all" onto <html>.
PROBE = f"""<script>
window.addEventListener("load", () => {{
  const images = Array.from(document.images);
  const decoded = images.filter((img) => img.complete && img.naturalWidth > 0);
  document.documentElement.setAttribute("{MARKER}", decoded.length + "/" + images.length);
}});
</script>"""


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
    )


def images_decoded(page: Path, scratch: Path) -> tuple[int, int]:
    """(decoded, all) images of ``page`` as Chromium loads it.

    The count is taken by a script added to a copy of the page; the page's own
    Content-Security-Policy still governs everything else (the copy's allows inline
    scripts, and nothing more).
    """
    text = page.read_text(encoding="utf-8")
    text = text.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
    probed = scratch / f"probed-{page.name}"
    probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    # the virtual time budget lets the load event and its handler run before the dump
    dom = run_chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri()).stdout
    found = re.search(rf'{MARKER}="(\d+)/(\d+)"', dom)
    if found is None:
        raise AssertionError(f"the page's probe did not run; Chromium gave:\n{dom[:2000]}")
    return int(found[1]), int(found[2])


def screenshot(page: Path, picture: Path, width: int = 1400, height: int = 4000) -> Path:
    run_chromium(f"--window-size={width},{height}", f"--screenshot={picture}", page.as_uri())
    return picture
