"""Two processes writing one index (an editor's language server and a CLI reindex, say)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from localgpt_ls.memory import MemoryIndex
from localgpt_ls.memory.store import connect

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from localgpt_ls.config import Config
    from localgpt_ls.memory import MemoryIndex

    ws, who, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    idx = MemoryIndex(ws, Config())
    for i in range(rounds):
        note = ws / "knowledge" / f"{who}-{i % 5}.md"
        note.write_text(f"# {who} note {i}\\n\\nround {i} written by {who} about topic{i}\\n")
        idx.index_file(note)
        shared = ws / "knowledge" / "shared.md"
        shared.write_text(f"# Shared\\n\\nlast touched by {who} in round {i}\\n")
        idx.index_file(shared)
        if i % 7 == 0:
            idx.reindex()
    idx.reindex()
    print("done", who)
""")


def test_two_writer_processes_keep_the_index_consistent(notes_ws: Path, lg_env,
                                                        local_embedder) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(notes_ws), who, "25"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("alpha", "beta")]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.startswith("done")

    idx = MemoryIndex(notes_ws)
    try:
        report = idx.reindex()  # nothing left to do if both writers finished their work
        assert report.files_indexed <= 1  # shared.md may be newer than the last writer's pass
        db = connect(idx.path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every file's chunks exist once: no duplicates from interleaved writers
        dupes = db.execute("SELECT path, line_start, count(*) FROM chunks "
                           "GROUP BY path, line_start HAVING count(*) > 1").fetchall()
        assert dupes == []
        counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("chunks", "chunks_fts", "chunks_vec")]
        assert counts[0] == counts[1] == counts[2]
        db.close()
        stats = idx.stats()
        assert stats["total_files"] == 9 + 10 + 1
        assert stats["embedded_chunks"] == stats["total_chunks"]
        hit = idx.search("last touched by", limit=1).results[0]
        assert hit.file == "knowledge/shared.md"
        assert hit.content == (notes_ws / "knowledge" / "shared.md").read_text().rstrip("\n")
    finally:
        idx.close()
