"""Check the built site's executed notebooks (and the committed sources) for anything secret-looking.

The notebooks run against the local RDM server with public data only, so no output should ever hold a token;
this check makes sure none does: a JWT, a bearer header, an OAuth token field or a signed file URL's signature.
The committed notebooks must also carry no outputs (the build executes them).

Usage: python scripts/docs-check-notebooks.py SITE_DIR      (exit 1 naming the page and what was found)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_PATTERNS = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "a bearer token": re.compile(r"Bearer\s+[A-Za-z0-9._~+/-]{12,}", re.I),
    "an OAuth token field": re.compile(r"[\"'](access_token|refresh_token|id_token|client_secret)[\"']\s*:\s*[\"'][^\"']{8,}"),
    "a signed URL": re.compile(r"[?&]sig=[0-9a-f]{16,}"),
}


def problems_in(text: str) -> list[str]:
    return [what for what, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    site = Path(argv[0])
    failures: list[str] = []
    sources = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
    for source in sources:
        book = json.loads(source.read_text())
        if any(cell.get("outputs") for cell in book["cells"] if cell["cell_type"] == "code"):
            failures.append(f"{source.relative_to(ROOT)}: committed with outputs (the build executes it; clear them)")
        failures += [f"{source.relative_to(ROOT)}: {what}" for what in problems_in(source.read_text())]
    pages = [site / "notebooks" / source.stem / "index.html" for source in sources]
    for page in pages:
        if not page.is_file():
            failures.append(f"{page}: missing (was the notebook built?)")
            continue
        html = page.read_text()
        failures += [f"{page.relative_to(site)}: {what} in an output" for what in problems_in(html)]
        # MkDocs does not check the images a notebook's Markdown links to (the screenshots): check them here
        for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', html):
            if not src.startswith(("data:", "http:", "https:")) and not (page.parent / src).resolve().is_file():
                failures.append(f"{page.relative_to(site)}: image {src} not in the site")
    if failures:
        print("docs notebooks check failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"docs notebooks check: {len(pages)} executed notebooks, no outputs committed, nothing secret-looking")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
