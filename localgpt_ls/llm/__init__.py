"""Model providers over httpx (no vendor SDKs).

types.py (the one message/event model), transport.py (timeouts, retries, SSE/NDJSON, errors),
errors.py, anthropic.py / openai.py / ollama.py (one dialect each), models.py (names, aliases,
"auto", building a provider).
"""
