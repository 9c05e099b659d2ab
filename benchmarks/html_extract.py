"""HTML to readable text for web_fetch: candidates compared on real pages (Debian's HTML docs).

For each page, the reference is the text of its <p>, <li>, <dd>, <td> and <pre> elements (what
a reader reads). Per extractor:
- recall: share of the reference's words (multiset) found in the output,
- noise: output words not in the reference, as a share of the output,
- ms: median milliseconds per page.
Peer: a bare stdlib HTMLParser that keeps every text node (the no-dependency baseline).

    pip install trafilatura html2text lxml_html_clean   # the candidates not kept
    python benchmarks/html_extract.py [--pages 40]

Prints a table and writes benchmarks/results/html_extract.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

WORD = re.compile(r"\w+", re.UNICODE)


def pages(limit: int) -> list[Path]:
    found = sorted(p for p in Path("/usr/share/doc").rglob("*.html")
                   if p.is_file() and 5_000 < p.stat().st_size < 2_000_000)
    step = max(1, len(found) // limit)
    return found[::step][:limit]


def reference(html: str) -> Counter[str]:
    import lxml.html

    root = lxml.html.fromstring(html.encode("utf-8"))
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    parts = [e.text_content() for e in root.xpath("//p|//li|//dd|//td|//pre")]
    return Counter(w.lower() for w in WORD.findall(" ".join(parts)))


class _Bare(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def bare(html: str) -> str:
    parser = _Bare()
    parser.feed(html)
    return " ".join(parser.out)


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_tables=True, include_links=False,
                               favor_recall=True) or ""


def html2text_text(html: str) -> str:
    import html2text

    h = html2text.HTML2Text()
    h.ignore_links = True
    h.ignore_images = True
    h.body_width = 0
    return h.handle(html)


def inscriptis_text(html: str) -> str:
    import inscriptis

    return inscriptis.get_text(html)


def ours(html: str) -> str:
    from localgpt_ls.agent.web_fetch import html_to_text

    return html_to_text(html)


CANDIDATES: dict[str, Callable[[str], str]] = {
    "stdlib HTMLParser (peer)": bare, "trafilatura": trafilatura_text,
    "html2text": html2text_text, "inscriptis": inscriptis_text}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    args = ap.parse_args()
    docs = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in pages(args.pages)]
    refs = [reference(h) for _, h in docs]
    rows = {}
    for name, fn in CANDIDATES.items():
        try:
            fn("<p>probe</p>")
        except ImportError as exc:  # trafilatura and html2text are not project dependencies
            print(f"{name}: not installed ({exc.name}); pip install it to compare")
            continue
        times, recalls, noises = [], [], []
        for (_, html), ref in zip(docs, refs, strict=True):
            start = time.perf_counter()
            text = fn(html)
            times.append((time.perf_counter() - start) * 1000)
            got = Counter(w.lower() for w in WORD.findall(text))
            total = sum(ref.values()) or 1
            recalls.append(sum(min(c, got[w]) for w, c in ref.items()) / total)
            out = sum(got.values()) or 1
            noises.append(sum(max(0, c - ref[w]) for w, c in got.items()) / out)
        rows[name] = {"recall": statistics.mean(recalls), "noise": statistics.mean(noises),
                      "ms_median": statistics.median(times), "ms_max": max(times)}
    print(f"{len(docs)} pages from /usr/share/doc, {platform.processor() or platform.machine()}")
    print(f"{'extractor':28} {'recall':>7} {'noise':>7} {'ms med':>8} {'ms max':>8}")
    for name, r in rows.items():
        print(f"{name:28} {r['recall']:7.3f} {r['noise']:7.3f} {r['ms_median']:8.2f} "
              f"{r['ms_max']:8.1f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "html_extract.json").write_text(json.dumps(
        {"pages": [str(p) for p, _ in docs], "results": rows}, indent=2))


if __name__ == "__main__":
    main()
