"""What one indexing pass did (`ReindexReport`), and how it reports progress as it goes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("localgpt.memory")

# progress(phase, done, total): phase is "scan", "index" (files) or "embed" (chunks)
Progress = Callable[[str, int, int], None]


@dataclass
class ReindexReport:
    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0  # vectors computed by the model (cache misses)
    cache_hits: int = 0  # vectors taken from the embedding cache
    seconds: float = 0.0
    rebuilt: str | None = None  # why the index was rebuilt first, if it was
    interrupted: bool = False  # stop() cut it short; the next reindex picks up the rest
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def warn(self, message: str) -> None:
        """Log a warning once, where it arises (doors show the log), and keep it here for
        callers that list them; nobody logs the report's warnings again."""
        log.warning("%s", message)
        self.warnings.append(message)
