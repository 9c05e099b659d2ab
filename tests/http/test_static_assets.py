"""The web UI ships as built files inside the package: the wheel holds every file the daemon
serves, and each vendored library is the exact file THIRD_PARTY.md names (package, version,
licence, sha256), with its licence beside it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from localgpt_ls.http.app import STATIC_FILES

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "localgpt_ls" / "http" / "static"


def test_vendored_files_are_the_ones_recorded() -> None:
    table = (STATIC / "vendor" / "THIRD_PARTY.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\S+\.js) \| (\S+) \| ([\d.]+) \| (.+?) \| \S+ \| ([0-9a-f]{64}) \|$",
                      table, re.M)
    vendored = {file for file, _media in STATIC_FILES.values() if file.startswith("vendor/")}
    assert {f"vendor/{row[0]}" for row in rows} == vendored
    for name, package, _version, licence, digest in rows:
        data = (STATIC / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from {package}'s"
        licence_file = re.search(r"\((LICENSE-[\w-]+)", licence)
        assert licence_file and (STATIC / "vendor" / licence_file.group(1)).is_file(), name


def test_the_wheel_carries_the_web_ui(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("localgpt_ls-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"localgpt_ls/http/static/{file}" for file, _media in STATIC_FILES.values()}
    wanted |= {"localgpt_ls/http/static/index.html",
               "localgpt_ls/http/static/vendor/THIRD_PARTY.md"}
    assert wanted <= names, wanted - names
