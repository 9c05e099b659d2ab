"""Skills (OpenClaw / Agent Skills format): `skills/<name>/SKILL.md`, YAML front matter with
`name` and `description`, then the instructions.

The system prompt lists each skill's name, description and path, nothing more; the model reads
the file (memory_get) when a task matches. The user can also invoke a skill by name (`/<name>`
in `localgpt chat`, a command or code action in the editor): then its instructions come along
with the request. One parser serves the loader and the language server's diagnostics, so what
the editor flags is exactly what the assistant would skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKILL_FILE = "SKILL.md"
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_MAX = 64
DESCRIPTION_MAX = 1024
SKILL_MAX_BYTES = 200_000
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$\r?\n?", re.S | re.M)

EXAMPLE = """\
---
name: weekly-review
description: Review the past week from the daily logs and write a short summary with open \
threads. Use when the user asks for a weekly review or "what happened this week".
---

# Weekly review

1. Read the daily logs of the last seven days (memory/YYYY-MM-DD.md; search memory for the week
   if some are missing).
2. Write a summary in three parts: what got done, what is still open, what to decide next.
   Cite each point as path:line.
3. Ask the user before appending the summary to today's log (memory_append, target "daily").
"""


@dataclass
class Problem:
    line: int  # 0-based line of SKILL.md the problem is on
    message: str
    code: str


@dataclass
class Skill:
    name: str
    description: str
    path: str  # workspace-relative, e.g. skills/weekly-review/SKILL.md
    body: str
    user_invocable: bool = True
    model_invocable: bool = True
    problems: list[Problem] = field(default_factory=list)
    # Why it cannot run on this machine (OpenClaw's metadata.openclaw.requires), or None.
    blocked: str | None = None


def parse(text: str, folder: str) -> tuple[dict[str, Any], str, list[Problem]]:
    """(front matter, body, problems) of a SKILL.md in skills/<folder>/."""
    import yaml

    problems: list[Problem] = []
    match = _FRONT.match(text)
    if match is None:
        return {}, text, [Problem(0, "SKILL.md needs front matter: a first line '---', then "
                                     "'name:' and 'description:', then '---'",
                                  "skill-front-matter")]
    body = text[match.end():]
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 1 + (mark.line if mark is not None else 0)
        return {}, body, [Problem(line, f"the front matter is not valid YAML: "
                                        f"{getattr(exc, 'problem', None) or exc}",
                                  "skill-yaml")]
    if not isinstance(meta, dict):
        return {}, body, [Problem(1, "the front matter must be 'key: value' lines",
                                  "skill-yaml")]
    lines = match.group(1).splitlines()

    def line_of(key: str) -> int:
        for i, line in enumerate(lines):
            if line.startswith(f"{key}:"):
                return i + 1
        return 0

    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(0, f"'name' is missing; write 'name: {folder}'",
                                "skill-name"))
    else:
        if not NAME.match(name) or len(name) > NAME_MAX:
            problems.append(Problem(line_of("name"), f"'name' must be lowercase letters, "
                                    f"digits and single hyphens, at most {NAME_MAX} "
                                    f"characters (got {name!r})", "skill-name"))
        elif name != folder:
            problems.append(Problem(line_of("name"), f"'name' is {name!r} but the folder is "
                                    f"skills/{folder}/: they must match", "skill-name"))
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(Problem(0, "'description' is missing: say what the skill does and "
                                "when to use it; it is all the assistant sees until it opens "
                                "the file", "skill-description"))
    elif len(description) > DESCRIPTION_MAX:
        problems.append(Problem(line_of("description"), f"'description' has "
                                f"{len(description)} characters; keep it under "
                                f"{DESCRIPTION_MAX}", "skill-description"))
    return meta, body, problems


def _flag(meta: dict[str, Any], key: str, default: bool) -> bool:
    value = meta.get(key, default)
    return value if isinstance(value, bool) else default


def load(path: Path, workspace: Path) -> Skill:
    folder = path.parent.name
    try:
        data = path.read_bytes()[:SKILL_MAX_BYTES]
        text = data.decode("utf-8", errors="replace")
    except OSError as exc:
        return Skill(folder, "", _rel(path, workspace), "",
                     problems=[Problem(0, f"cannot read: {exc.strerror}", "skill-read")])
    meta, body, problems = parse(text, folder)
    name = meta.get("name") if isinstance(meta.get("name"), str) else folder
    description = meta.get("description") if isinstance(meta.get("description"), str) else ""
    return Skill(str(name).strip(), " ".join(str(description).split()), _rel(path, workspace),
                 body, user_invocable=_flag(meta, "user-invocable", True),
                 model_invocable=not _flag(meta, "disable-model-invocation", False),
                 problems=problems, blocked=_missing_requirements(meta))


def _missing_requirements(meta: dict[str, Any]) -> str | None:
    """OpenClaw's gating: `metadata.openclaw.requires` bins (all), anyBins (one), env (all);
    `always: true` skips the checks."""
    import os
    import shutil

    openclaw = (meta.get("metadata") or {}).get("openclaw") if isinstance(
        meta.get("metadata"), dict) else None
    if not isinstance(openclaw, dict) or openclaw.get("always") is True:
        return None
    requires = openclaw.get("requires")
    if not isinstance(requires, dict):
        return None

    def names(key: str) -> list[str]:
        value = requires.get(key)
        return [str(v) for v in value] if isinstance(value, list) else []

    missing = [b for b in names("bins") if shutil.which(b) is None]
    if missing:
        return f"missing programs: {', '.join(missing)}"
    any_bins = names("anyBins")
    if any_bins and not any(shutil.which(b) for b in any_bins):
        return f"needs one of: {', '.join(any_bins)}"
    unset = [e for e in names("env") if not os.environ.get(e)]
    if unset:
        return f"unset environment variables: {', '.join(unset)}"
    return None


def _rel(path: Path, workspace: Path) -> str:
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return path.as_posix()


def discover(workspace: Path) -> list[Skill]:
    """Skills that load without problems, by name; a broken SKILL.md is left out (the editor
    says why)."""
    root = workspace / "skills"
    if not root.is_dir():
        return []
    found: dict[str, Skill] = {}
    for path in sorted(root.glob(f"*/{SKILL_FILE}")):
        if path.parent.name.startswith(".") or not path.is_file():
            continue
        skill = load(path, workspace)
        if not skill.problems:
            found.setdefault(skill.name, skill)
    return list(found.values())


def find(workspace: Path, name: str) -> Skill | None:
    return next((s for s in discover(workspace) if s.name == name), None)


def prompt_section(skills: Iterable[Skill]) -> str:
    """The system prompt's list: name, description and path only."""
    listed = [s for s in skills if s.model_invocable and s.blocked is None]
    if not listed:
        return ""
    lines = ["## Skills", "",
             "Skills are instructions for particular tasks. When a task matches a skill's "
             "description, read its file first (memory_get with its path) and follow it.", ""]
    lines += [f"- {s.name}: {s.description} (path: {s.path})" for s in listed]
    return "\n".join(lines) + "\n"


def invocation(skill: Skill, request: str) -> tuple[str, str]:
    """(user message, system prompt extra) for a skill the user invoked by name."""
    message = request.strip() or f"Use the {skill.name} skill."
    extra = (f"## Skill invoked by the user: {skill.name}\n\nThe user asked for this skill "
             f"({skill.path}); follow its instructions:\n\n{skill.body.strip()}")
    return message, extra


def write_example(workspace: Path) -> Path | None:
    """`init` writes one example skill unless the skills folder already has any."""
    root = workspace / "skills"
    if root.is_dir() and any(root.glob(f"*/{SKILL_FILE}")):
        return None
    target = root / "weekly-review" / SKILL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(EXAMPLE, encoding="utf-8")
    return target


TOOLS: list[Any] = []  # the model reads a skill with memory_get; no tool of its own
