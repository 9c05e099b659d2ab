"""Embedders: the offline model, and the server embedders over their real wire formats."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from localgpt_ls.config import Config
from localgpt_ls.memory import MemoryIndex
from localgpt_ls.memory.embed import (
    EmbeddingError,
    LocalEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    tokenizer_path,
)


def test_local_model_understands_meaning(local_embedder: LocalEmbedder) -> None:
    v = local_embedder.embed(["feline pet", "my cat sleeps on the sofa", "tax return deadline"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_batching_and_order_do_not_change_vectors(local_embedder: LocalEmbedder) -> None:
    texts = ["short", "a much longer sentence about gardening " * 5, "médium café text", ""]
    together = local_embedder.embed(texts)
    alone = np.stack([local_embedder.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_long_text_is_truncated_not_rejected(local_embedder: LocalEmbedder) -> None:
    v = local_embedder.embed(["word " * 5000])
    assert v.shape == (1, 384)


def test_model_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    emb = LocalEmbedder(expected_sha256="0" * 64)
    with pytest.raises(EmbeddingError, match="sha256"):
        emb.load()
    assert not emb.ready
    missing = LocalEmbedder(model_path=tmp_path / "nope.onnx")
    with pytest.raises(EmbeddingError, match="not found"):
        missing.embed(["x"])


def test_tokenizer_ships_with_the_package() -> None:
    path = tokenizer_path()
    assert path.is_file()
    assert (path.parent / "NOTICE").read_text().count("Apache") >= 1


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def _vec(text: str) -> list[float]:
    return [float(len(text)), 1.0, 0.0]


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "body": body,
                                "auth": self.headers.get("Authorization")})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model exploded")
            return
        if self.path == "/v1/embeddings":
            data = [{"object": "embedding", "index": i, "embedding": _vec(t)}
                    for i, t in reversed(list(enumerate(body["input"])))]  # any order
            out: dict[str, Any] = {"object": "list", "data": data, "model": body["model"]}
        elif self.path == "/api/embed":
            out = {"model": body["model"], "embeddings": [_vec(t) for t in body["input"]]}
        else:
            self.send_response(404)
            self.end_headers()
            return
        raw = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server() -> Iterator[_Server]:
    _Handler.seen = []
    s = _Server(_Handler)
    yield s
    s.httpd.shutdown()


def test_openai_embeddings_wire_format(server: _Server) -> None:
    emb = OpenAIEmbedder(server.url + "/v1", "text-embedding-3-small", "sk-test")
    v = emb.embed(["a", "abc"])
    assert emb.model_id == "openai:text-embedding-3-small"
    assert np.allclose(v[1], np.array(_vec("abc")) / np.linalg.norm(_vec("abc")))
    (req,) = _Handler.seen
    assert req["body"] == {"model": "text-embedding-3-small", "input": ["a", "abc"]}
    assert req["auth"] == "Bearer sk-test"


def test_ollama_embeddings_wire_format(server: _Server) -> None:
    emb = OllamaEmbedder(server.url, "nomic-embed-text")
    v = emb.embed(["hello"])
    assert v.shape == (1, 3)
    assert _Handler.seen[0]["path"] == "/api/embed"


def test_embedder_settings_are_read_as_the_chat_providers_read_them(
        server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key read from a file ends with a newline, and OLLAMA_HOST is how many people point at
    their Ollama: embeddings follow the chat providers' rules, and a broken value is one
    clear error that never shows the key."""
    from localgpt_ls.errors import LocalGPTError
    from localgpt_ls.memory.embed import make_embedder

    config = Config()
    config.memory.embedding_provider = "openai"
    config.providers.openai.base_url = server.url + "/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-a-file\n")
    make_embedder(config).embed(["a"])
    assert _Handler.seen[-1]["auth"] == "Bearer sk-from-a-file"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-broken\nsecret-part")
    with pytest.raises(LocalGPTError, match="OPENAI_API_KEY") as refused:
        make_embedder(config)
    assert "secret-part" not in str(refused.value)
    config.providers.openai.base_url = "http://[bad/v1"
    with pytest.raises(LocalGPTError, match=r"\[providers.openai\] base_url"):
        make_embedder(config)

    config.memory.embedding_provider = "ollama"
    monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))
    make_embedder(config).embed(["hello"])
    assert _Handler.seen[-1]["path"] == "/api/embed"


def test_server_errors_are_clear(server: _Server) -> None:
    with pytest.raises(EmbeddingError, match=r"openai embeddings .* answered 500: model exploded"):
        OpenAIEmbedder(server.url + "/v1", "broken", None).embed(["x"])
    with pytest.raises(EmbeddingError, match="ollama embeddings"):
        OllamaEmbedder("http://127.0.0.1:9", "m", timeout=2).embed(["x"])


def test_index_with_a_server_embedder_and_keyword_fallback(server: _Server,
                                                           notes_ws: Path) -> None:
    config = Config()
    config.memory.embedding_provider = "openai"
    config.providers.openai.base_url = server.url + "/v1"
    config.providers.openai.api_key = "sk-test"
    idx = MemoryIndex(notes_ws, config)
    try:
        report = idx.reindex()
        stats = idx.stats()
        assert report.chunks_embedded == stats["total_chunks"] == stats["embedded_chunks"]
        assert stats["embedding_model"] == "openai:text-embedding-3-small"
        assert _Handler.seen[0]["auth"] == "Bearer sk-test"
        assert idx.search("Kestrel").mode == "hybrid"
        # the server goes away: searching still answers, by keywords, and says so
        server.httpd.shutdown()
        server.httpd.server_close()
        response = idx.search("sourdough starter")
        assert response.mode == "fts"
        assert response.results[0].file == "knowledge/sourdough.md"
    finally:
        idx.close()
