"""Which graph library draws a 5,000-note link graph soonest: the comparison behind the choice of
the web UI's vendored graph library.

Candidates (from npm, installed into ~/.cache/localgpt-bench/graph-libs on first run): force-graph
(canvas 2D + d3-force), cytoscape (canvas 2D), vis-network (canvas 2D), sigma + graphology
(WebGL). Each draws the same graph in Debian's headless Chromium (the browser the tests use, with
the same flags: no GPU, so WebGL runs in software, as in a VM or a desktop window without GPU):

- full: all N notes and their links, positions given (a phyllotaxis spiral, as force-graph starts);
- hood: the neighbourhood the UI draws first (one note, its links, their links: ~150 nodes);
- frame: the mean time of 20 redraws of the full graph after a pan (what dragging feels like).

Time runs from handing the data to the library to the end of the first frame that shows it
(the library's own after-render event, then one requestAnimationFrame). A reference: the same
nodes drawn as plain canvas 2D circles and lines by hand, in the same page and run.

    python benchmarks/graph_libraries.py [--notes 5000] [--runs 5]

Prints a table and writes benchmarks/results/graph_libraries.json.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "localgpt-bench" / \
    "graph-libs"
PACKAGES = {"force-graph": "1.52.0", "cytoscape": "3.35.0", "vis-network": "10.1.5",
            "sigma": "4.0.4", "graphology": "0.26.0"}
SCRIPTS = {
    "force-graph": ["force-graph/dist/force-graph.min.js"],
    "cytoscape": ["cytoscape/dist/cytoscape.min.js"],
    "vis-network": ["vis-network/standalone/umd/vis-network.min.js"],
    "sigma": ["graphology/dist/graphology.umd.min.js", "sigma/dist/sigma.min.js"],
    "canvas (reference)": [],
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Each runner (graph_libraries.js) draws window.DATA ({nodes: [{id, x, y}], links: [{source,
# target}]}) into #g and resolves with the milliseconds to the first drawn frame; then REDRAW
# pans and redraws 20 times.
RUNNERS = Path(__file__).with_suffix(".js")


def make_graph(n: int, seed: int = 7) -> dict[str, Any]:
    """A vault-like link graph: each note links to 1-5 others, popular notes more often
    (preferential attachment), positions on a phyllotaxis spiral."""
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(n)]
    targets: list[int] = [0]
    links = []
    for i in range(1, n):
        for _ in range(rng.randint(1, 5)):
            j = rng.choice(targets) if rng.random() < 0.7 else rng.randrange(i)
            if j != i:
                links.append({"source": ids[i], "target": ids[j]})
                targets.append(j)
        targets.append(i)
    nodes = []
    for i, nid in enumerate(ids):
        r, a = 10 * math.sqrt(i + 0.5), i * math.pi * (3 - math.sqrt(5))
        nodes.append({"id": nid, "x": round(r * math.cos(a), 2), "y": round(r * math.sin(a), 2)})
    return {"nodes": nodes, "links": links}


def neighbourhood(graph: dict[str, Any], center: str, cap: int = 150) -> dict[str, Any]:
    adjacent: dict[str, set[str]] = {}
    for link in graph["links"]:
        adjacent.setdefault(link["source"], set()).add(link["target"])
        adjacent.setdefault(link["target"], set()).add(link["source"])
    keep = {center}
    ring = {center}
    for _ in range(2):
        ring = {m for n in ring for m in adjacent.get(n, ())} - keep
        for m in sorted(ring):
            if len(keep) >= cap:
                break
            keep.add(m)
    return {"nodes": [n for n in graph["nodes"] if n["id"] in keep],
            "links": [lk for lk in graph["links"]
                      if lk["source"] in keep and lk["target"] in keep]}


def install() -> Path:
    modules = CACHE / "node_modules"
    if all((modules / name / "package.json").exists() for name in PACKAGES):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the candidate libraries")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                    "--prefix", str(CACHE), *[f"{k}@{v}" for k, v in PACKAGES.items()]],
                   check=True)
    return modules


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    install()
    graph = make_graph(args.notes)
    hood = neighbourhood(graph, "n1")
    site = CACHE / "site"
    site.mkdir(exist_ok=True)
    (site / "data.js").write_text(
        f"window.DATA={json.dumps(graph)};window.HOOD={json.dumps(hood)};")
    (site / "runners.js").write_text(RUNNERS.read_text())
    results: dict[str, Any] = {}
    server, base = serve(CACHE)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, scripts in SCRIPTS.items():
                tags = "".join(f'<script src="/node_modules/{s}"></script>' for s in scripts)
                page_file = site / f"{name.split()[0]}.html"
                page_file.write_text(
                    '<!doctype html><meta charset="utf-8"><body style="margin:0">'
                    '<div id="g" style="width:1200px;height:800px;position:relative"></div>'
                    f'{tags}<script src="/site/data.js"></script>'
                    '<script src="/site/runners.js"></script>')
                full, hoods, frames = [], [], []
                for _ in range(args.runs):
                    for which in ("full", "hood"):
                        page = browser.new_page(viewport={"width": 1200, "height": 800})
                        page.goto(f"{base}/site/{page_file.name}")
                        out = page.evaluate("([n, w]) => window.runBench(n, w)", [name, which])
                        page.close()
                        if which == "full":
                            full.append(out["ms"])
                            frames.append(out["redraw"])
                        else:
                            hoods.append(out["ms"])
                results[name] = {"full_first_draw_ms": round(statistics.median(full), 1),
                                 "hood_first_draw_ms": round(statistics.median(hoods), 1),
                                 "redraw_ms": round(statistics.median(frames), 1)}
                print(f"{name:20s} full {results[name]['full_first_draw_ms']:8.1f} ms   "
                      f"hood {results[name]['hood_first_draw_ms']:7.1f} ms   "
                      f"redraw {results[name]['redraw_ms']:6.1f} ms", flush=True)
            browser.close()
    finally:
        server.shutdown()
    out = {"notes": args.notes, "links": len(graph["links"]), "hood_nodes": len(hood["nodes"]),
           "runs": args.runs, "versions": PACKAGES, "machine": platform.platform(),
           "cpus": os.cpu_count(), "results": results}
    target = ROOT / "benchmarks" / "results" / "graph_libraries.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2))
    print(f"{args.notes} notes, {len(graph['links'])} links, neighbourhood "
          f"{len(hood['nodes'])} nodes; wrote {target}")


if __name__ == "__main__":
    main()
