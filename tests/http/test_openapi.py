"""schemas/openapi.json matches the app: every route is in the spec and every spec operation is
a route; refusals are documented everywhere; and schemathesis fuzzes a real daemon against the
spec with the token (a short, bounded run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from starlette.routing import Route

from localgpt_ls.http.app import ROUTES
from tests.http.conftest import SPEC
from tests.http.live_daemon import LiveDaemon

METHODS = {"get", "post", "put", "delete", "patch"}


def app_operations() -> set[tuple[str, str]]:
    out = set()
    for route in ROUTES:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                out.add((method.lower(), route.path))
    return out


def spec_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, item in SPEC["paths"].items()
            for method in item if method in METHODS}


def test_app_routes_match_the_spec() -> None:
    app, spec = app_operations(), spec_operations()
    assert app - spec == set(), "routes missing from schemas/openapi.json"
    assert spec - app == set(), "operations in schemas/openapi.json the app does not serve"


def test_every_api_operation_needs_auth_and_documents_refusals() -> None:
    for method, path in spec_operations():
        operation = SPEC["paths"][path][method]
        responses = operation["responses"]
        assert "403" in responses, (method, path)  # foreign Host/Origin: every route
        if path.startswith("/api/"):
            assert "security" not in operation, f"{method} {path} must not opt out of auth"
            assert "401" in responses, (method, path)
        if "requestBody" in operation:
            assert "413" in responses, (method, path)
            assert "400" in responses, (method, path)


def test_every_schema_reference_resolves() -> None:
    text = json.dumps(SPEC)
    for kind in ("schemas", "responses"):
        for name in SPEC["components"][kind]:
            assert f"#/components/{kind}/{name}" in text or kind == "schemas"
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    for ref in refs:
        node = SPEC
        for key in ref.removeprefix("#/").split("/"):
            node = node[key]


def test_schemathesis_fuzzes_the_live_daemon(live: LiveDaemon, tmp_path: Path) -> None:
    """Bounded fuzz run (--max-time 25, about 30 s; the stateful phase is left to the manual
    run in the README to stay short). One check is off: positive_data_acceptance, because a
    schema-valid but unknown model name is rightly a 400."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    assert schemathesis.exists(), "schemathesis is a test dependency: pip install -e '.[test]'"
    command = [str(schemathesis), "run", str(Path(SPEC_PATH)), "--url", live.url,
               "-H", f"Authorization: Bearer {live.token}", "--max-examples", "5",
               "--phases", "examples,coverage,fuzzing", "--workers", "2",
               "--max-time", "25", "--request-timeout", "20", "--no-color",
               "--exclude-checks", "positive_data_acceptance",
               # schemathesis crashes (SystemError: AST constructor recursion depth mismatch,
               # CPython 3.11.7, while describing its own path-parameter filter) generating
               # cases for this one operation; tests/http/test_notes_api.py covers the rename.
               "--exclude-operation-id", "sessionRename",
               "--seed", "1"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=env)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


SPEC_PATH = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"
