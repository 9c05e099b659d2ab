"""kill -9 in the middle of writing: during `localgpt memory reindex --force` and during
`memory_append`. What must hold afterwards: the index passes SQLite's integrity check and its
keyword table agrees with its chunks, every note is found again after the next reindex, and
every entry an append reported done is in the file, whole, exactly once.

Shared by tests/fuzz/test_kill.py (a few trials) and benchmarks/hardening.py (the full run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.user_env import user_env

TOPICS = ["kestrel", "harbour", "quince", "tundra", "violin", "walnut", "yarrow", "zircon"]


@dataclass
class KillReport:
    trials: int = 0
    killed_mid_work: int = 0  # the process was still running when it was killed
    inconsistent: int = 0
    lost: int = 0
    torn: int = 0
    acknowledged: int = 0
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["details"] = self.details[:10]
        return data


def _vault(base: Path, notes: int) -> tuple[Path, Path, dict[str, str]]:
    """A workspace of `notes` notes, each holding one word no other note has."""
    from localgpt_ls.workspace import init_workspace

    home = base / ".localgpt"
    ws = home / "workspace"
    init_workspace(ws)
    home.joinpath("config.toml").write_text('[memory]\nembedding_provider = "none"\n',
                                            encoding="utf-8")
    words = {}
    for i in range(notes):
        topic = TOPICS[i % len(TOPICS)]
        word = f"marker{i:04d}x"
        rel = f"knowledge/{topic}/note-{i}.md"
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(f"## Part {j}\n\nAbout the {topic} {j}: " + " ".join(
            f"w{(i * 7 + j * k) % 997}" for k in range(60)) for j in range(8))
        path.write_text(f"# {topic.title()} {i}\n\n{word}\n\n{body}\n", encoding="utf-8")
        words[word] = rel
    return home, ws, words


def _index_consistent(db: Path) -> str | None:
    """None when the index file is sound, else what is wrong."""
    if not db.exists():
        return None  # killed before it was created: nothing to be inconsistent
    import sqlean  # the SQLite the index is written with (FTS5 options the stdlib's lacks)

    con = sqlean.connect(str(db))
    try:
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            return f"integrity_check: {check}"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if {"chunks", "chunks_fts", "files"} <= tables:
            chunks = con.execute("SELECT count(*) FROM chunks").fetchone()[0]
            fts = con.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
            if chunks != fts:
                return f"{chunks} chunks but {fts} keyword rows"
            orphans = con.execute("SELECT count(*) FROM chunks WHERE path NOT IN "
                                  "(SELECT path FROM files)").fetchone()[0]
            if orphans:
                return f"{orphans} chunks of files the index does not list"
    except sqlean.DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        con.close()
    return None


def reindex_kills(base: Path, trials: int, seed: int, notes: int = 400) -> KillReport:
    from localgpt_ls import paths

    rng = random.Random(seed)
    home, ws, words = _vault(base, notes)
    env = user_env(home, ws)
    report = KillReport()
    cli = [sys.executable, "-m", "localgpt_ls", "memory", "reindex"]
    subprocess.run(cli, env=env, capture_output=True, timeout=300, check=True)
    for trial in range(trials):
        report.trials += 1
        # Change a few notes each time, so the killed run has real writes to do.
        for i in rng.sample(range(notes), 5):
            path = ws / words[f"marker{i:04d}x"]
            path.write_text(path.read_text(encoding="utf-8") + f"\nedit {trial}\n",
                            encoding="utf-8")
        proc = subprocess.Popen([*cli, "--force"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            report.killed_mid_work += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        db = _db_path(paths, home, ws, env)
        problem = _index_consistent(db)
        if problem:
            report.inconsistent += 1
            report.details.append(f"trial {trial}: {problem}")
    # After all the kills: one plain reindex, and every note must be found by its word.
    subprocess.run(cli, env=env, capture_output=True, timeout=300, check=True)
    found = _search_all(home, ws, words)
    report.lost = len(words) - found
    return report


def _db_path(paths: Any, home: Path, ws: Path, env: dict[str, str]) -> Path:
    old = {k: os.environ.get(k) for k in ("LOCALGPT_HOME", "LOCALGPT_WORKSPACE")}
    os.environ.update(LOCALGPT_HOME=env["LOCALGPT_HOME"],
                      LOCALGPT_WORKSPACE=env["LOCALGPT_WORKSPACE"])
    try:
        return Path(paths.index_path(ws))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _search_all(home: Path, ws: Path, words: dict[str, str]) -> int:
    code = (
        "import json, sys\n"
        "from localgpt_ls.engine import Engine\n"
        "words = json.loads(sys.stdin.read())\n"
        "memory = Engine().memory\n"
        "found = sum(1 for w, rel in words.items()\n"
        "            if any(h.file == rel for h in memory.search(w, limit=3).results))\n"
        "print(found)\n")
    import json

    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(words), text=True,
                         env=user_env(home, ws), capture_output=True, timeout=300, check=True)
    return int(out.stdout.strip().splitlines()[-1])


_APPENDER = """
import asyncio, sys
from pathlib import Path
from localgpt_ls.agent.tools import ToolContext, run_tool
from localgpt_ls.llm.types import ToolCall

ws, trial = Path(sys.argv[1]), sys.argv[2]
ctx = ToolContext(ws)

async def main():
    i = 0
    while True:
        text = f"entry-{trial}-{i} " + "payload " * (i % 40) + f"\\u00e9\\u6f22 end-{trial}-{i}"
        out, err = await run_tool(ToolCall("c", "memory_append",
                                           {"text": text, "target": "memory"}), ctx)
        if err:
            print("error", out, flush=True)
            return
        print(f"ok {i}", flush=True)
        i += 1

asyncio.run(main())
"""


def append_kills(base: Path, trials: int, seed: int,
                 window: tuple[float, float] = (0.8, 2.5)) -> KillReport:
    """Each trial: an appender writes entries to MEMORY.md until it is killed at a random
    moment; every entry it reported done must be there once, and none may be torn."""
    import re

    rng = random.Random(seed)
    home, ws, _ = _vault(base, 1)
    env = user_env(home, ws)
    report = KillReport()
    for trial in range(trials):
        report.trials += 1
        proc = subprocess.Popen([sys.executable, "-c", _APPENDER, str(ws), str(trial)],
                                env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        deadline = time.monotonic() + rng.uniform(*window)
        acked = -1
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("ok "):
                acked = int(line.split()[1])
            elif line.startswith("error"):
                report.details.append(f"trial {trial}: {line.strip()}")
                break
        if proc.poll() is None:
            report.killed_mid_work += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for line in proc.stdout:  # acknowledgements already written before the kill
            if line.startswith("ok "):
                acked = int(line.split()[1])
        report.acknowledged += acked + 1
        text = (ws / "MEMORY.md").read_bytes().decode("utf-8", errors="replace")
        starts = re.findall(rf"entry-{trial}-(\d+) ", text)
        ends = re.findall(rf"end-{trial}-(\d+)\n", text)
        counts: dict[int, int] = {}
        for n in starts:
            counts[int(n)] = counts.get(int(n), 0) + 1
        report.lost += sum(1 for i in range(acked + 1) if counts.get(i, 0) != 1)
        report.torn += abs(len(starts) - len(ends))
    try:
        (ws / "MEMORY.md").read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        report.inconsistent += 1
        report.details.append(f"MEMORY.md is not UTF-8 at byte {exc.start}")
    return report
