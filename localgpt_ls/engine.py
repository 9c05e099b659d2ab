"""The Engine: one object that owns config, workspace, memory, providers and heartbeat.

Every door (CLI, language server, HTTP daemon) builds one and calls it; doors translate and hold
no business logic. Parts are built lazily so `localgpt --version` or `config path` never pay for
opening the index or loading a model.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt_ls.config import Config, load_config
from localgpt_ls.workspace import ensure_workspace

if TYPE_CHECKING:
    from localgpt_ls.agent.loop import Agent
    from localgpt_ls.heartbeat import HeartbeatRunner
    from localgpt_ls.memory import MemoryIndex


class Engine:
    def __init__(self, config: Config | None = None, workspace: Path | None = None) -> None:
        self.config = config if config is not None else load_config()
        self.workspace = ensure_workspace((workspace or self.config.workspace()).resolve())

    @cached_property
    def memory(self) -> MemoryIndex:
        """The workspace's memory index (opened on first use; the model loads on first embed)."""
        from localgpt_ls.memory import MemoryIndex

        return MemoryIndex(self.workspace, self.config)

    @cached_property
    def agent(self) -> Agent:
        """The assistant: `await engine.agent.chat(...)` / `run_turn(...)` (agent/loop.py)."""
        from localgpt_ls.agent.loop import Agent

        return Agent(self.config, self.workspace, lambda: self.memory)

    @cached_property
    def heartbeat(self) -> HeartbeatRunner:
        """The workspace's heartbeat: `run_once`, `run_forever`, `status` (heartbeat/runner.py).
        Its model call is the agent's session-less turn."""
        from localgpt_ls.heartbeat import HeartbeatRunner
        from localgpt_ls.heartbeat.turn import agent_turn

        return HeartbeatRunner(self.workspace, self.config.heartbeat,
                               agent_turn(lambda: self.agent))

    def stop(self) -> None:
        """Ask work running in other threads (reindex, embedding) to end at its next step, ahead
        of `close`; opens nothing that is not open yet."""
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
