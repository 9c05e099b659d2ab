"""The editor setup instructions work on a fresh machine: the server is installed from a clone
(it is not on PyPI, where `localgpt` is an unrelated project), no step refers to a placeholder
repository, and the VS Code extension is built before the step that installs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NVIM_README = ROOT / "editors" / "nvim" / "README.md"
VSCODE_README = ROOT / "editors" / "vscode" / "README.md"
EXTENSION = ROOT / "editors" / "vscode" / "src" / "extension.ts"


def editors_setup() -> str:
    """The "Editors setup" section of the top-level README."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Editors setup\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no 'Editors setup' section"
    return match.group(1)


def setup_texts() -> dict[str, str]:
    texts = {"editors/nvim/README.md": NVIM_README.read_text(),
             "editors/vscode/README.md": VSCODE_README.read_text(),
             "README.md Editors setup": editors_setup(),
             "README.md": (ROOT / "README.md").read_text()}
    # What the programs themselves tell a user to run (error hints, --help, pop-ups).
    for folder, pattern in (("localgpt_ls", "*.py"), ("editors/vscode/src", "*.ts"),
                            ("editors/nvim", "*.lua")):
        for file in sorted((ROOT / folder).rglob(pattern)):
            texts[str(file.relative_to(ROOT))] = file.read_text()
    return texts


@pytest.mark.parametrize("name", sorted(setup_texts()))
def test_no_install_from_pypi_and_no_placeholder(name: str) -> None:
    text = setup_texts()[name]
    # A package name right after `pip install` would fetch from PyPI (a path has a / or is .).
    # Quoted too: `pip install 'localgpt-ls[desktop]'` fetches from PyPI as well.
    pypi = re.findall(r"pip install (?:-U |--upgrade )?['\"]?(localgpt[\w.\[\],-]*)", text)
    assert not pypi, f"{name} installs {pypi} from PyPI, where it is not (or is another project)"
    assert "<this repository>" not in text


@pytest.mark.parametrize("readme", [NVIM_README, VSCODE_README], ids=["nvim", "vscode"])
def test_server_is_installed_from_the_clone(readme: Path) -> None:
    text = readme.read_text()
    assert re.search(r"pip install ~/src/localgpt-ls\b", text), "no install from the clone"
    assert "git clone" in text  # how the clone got there


@pytest.mark.parametrize("text", [VSCODE_README.read_text(), editors_setup()],
                         ids=["vscode README", "README Editors setup"])
def test_the_vsix_is_built_before_it_is_installed(text: str) -> None:
    build = text.find("npm run package")
    install = text.find("code --install-extension localgpt-ls.vsix")
    assert install != -1 and build != -1
    assert build < install
