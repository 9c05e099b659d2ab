"""The heartbeat's default model call: the agent's session-less turn.

Kept apart from the runner so the runner (and its tests) never import the agent; the Engine
wires this in. With no model configured (memory-only mode) the run is skipped as `no-model`:
the memory-only answer is not a heartbeat reply and must not be delivered as an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from localgpt_ls.heartbeat.runner import HeartbeatSkip, TurnFn

if TYPE_CHECKING:
    from localgpt_ls.agent.loop import Agent


def agent_turn(get_agent: Callable[[], Agent]) -> TurnFn:
    """A turn function over `get_agent()` (called lazily, so building a runner costs nothing).

    No approver is passed: nobody watches a background run, so file edits that need approval
    are refused with a message the model can relay; memory_append needs none and works.
    """

    async def turn(prompt: str) -> str:
        agent = get_agent()
        choice = await agent.resolve_model()
        if choice.memory_only:
            raise HeartbeatSkip("no-model")
        result = await agent.run_turn(prompt)
        return result.response

    return turn
