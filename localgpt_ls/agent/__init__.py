"""The assistant: context.py (system prompt), tools.py (what the model may do), sessions.py
(JSONL history), memory_only.py (answers without a model), events.py (what doors receive) and
loop.py (Agent: chat, run_turn, compact). Doors reach it as Engine.agent.
"""
