"""The Engine: one object that owns config, workspace, memory, providers and heartbeat.

Every door (CLI, language server, HTTP daemon) builds one and calls it; doors translate and hold
no business logic. Parts are built lazily so `localgpt --version` or `config path` never pay for
opening the index or loading a model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt_ls.config import Config, load_config
from localgpt_ls.workspace import ensure_workspace

if TYPE_CHECKING:
    from localgpt_ls.agent.loop import Agent
    from localgpt_ls.heartbeat import HeartbeatRunner
    from localgpt_ls.index_sync import IndexFollower
    from localgpt_ls.memory import MemoryIndex


@dataclass(frozen=True)
class EditorBridge:
    """How a door with an editor changes documents open there: through the editor, never
    behind its back. Each call answers False when the file is not open there (then the engine
    writes the file itself). Given to the Engine once, when the door starts."""

    # (file, text to append) -> written through the editor?  (daily-log entries)
    append: Callable[[Path, str], Awaitable[bool]]
    # (file, 0-based line, old text, new text) -> replaced through the editor?  (tool edits)
    replace_line: Callable[[Path, int, str, str], Awaitable[bool]]
    # The door follows file changes itself, so a chat turn need not refresh the index first.
    keeps_index_fresh: bool = True


class Engine:
    def __init__(self, config: Config | None = None, workspace: Path | None = None, *,
                 editor: EditorBridge | None = None) -> None:
        self.config = config if config is not None else load_config()
        self.workspace = ensure_workspace((workspace or self.config.workspace()).resolve())
        self.editor = editor
        self.follower: IndexFollower | None = None

    def follow_index(self, name: str = "localgpt-index") -> IndexFollower:
        """Keep the memory index in step with the disk from now on (a full sync, then each
        file change, in a thread of its own), for a door that runs until it is stopped (the
        daemon, `localgpt mcp`). A chat turn then never refreshes the index itself."""
        from localgpt_ls.index_sync import IndexFollower

        if self.follower is None:
            self.follower = IndexFollower(self.workspace, lambda: self.memory, name=name).start()
        return self.follower

    def index_kept_fresh(self) -> bool:
        """Does something follow file changes, so a turn need not reindex first? The editor
        door (it watches files) or `follow_index`."""
        return self.follower is not None or bool(self.editor and self.editor.keeps_index_fresh)

    @cached_property
    def memory(self) -> MemoryIndex:
        """The workspace's memory index (opened on first use; the model loads on first embed)."""
        from localgpt_ls.memory import MemoryIndex

        return MemoryIndex(self.workspace, self.config)

    @cached_property
    def agent(self) -> Agent:
        """The assistant: `await engine.agent.chat(...)` / `run_turn(...)` (agent/loop.py)."""
        from localgpt_ls.agent.loop import Agent

        editor = self.editor
        return Agent(self.config, self.workspace, lambda: self.memory,
                     line_editor=editor.replace_line if editor else None,
                     refresh_memory=lambda: not self.index_kept_fresh())

    @cached_property
    def heartbeat(self) -> HeartbeatRunner:
        """The workspace's heartbeat: `run_once`, `run_forever`, `status` (heartbeat/runner.py).
        Its model call is the agent's session-less turn."""
        from localgpt_ls.heartbeat import HeartbeatRunner
        from localgpt_ls.heartbeat.turn import agent_turn

        return HeartbeatRunner(self.workspace, self.config.heartbeat,
                               agent_turn(lambda: self.agent),
                               log_writer=self.editor.append if self.editor else None)

    def stop(self) -> None:
        """Ask work running in other threads (the follower, reindex, embedding) to end at its
        next step, ahead of `close`; opens nothing that is not open yet."""
        follower, self.follower = self.follower, None
        if follower is not None:
            follower.stop()
        memory = self.__dict__.get("memory")
        if memory is not None:
            memory.stop()

    def close(self) -> None:
        """Release files and connections; safe to call twice."""
        heartbeat = self.__dict__.pop("heartbeat", None)
        if heartbeat is not None:
            heartbeat.close()
        memory = self.__dict__.pop("memory", None)
        if memory is not None:
            memory.close()
