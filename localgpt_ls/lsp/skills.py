"""Skills in the editor: SKILL.md front matter checked as the assistant reads it, skill names
completed after a `/` at the start of a line, and a skill run on the selection (the
`localgpt.skill` command and one code action per skill). `localgpt.skills` lists them.

The rules (what a valid SKILL.md is, what an invoked skill sends) are agent/skills.py's; this
module only translates them into LSP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.agent import skills as core
from localgpt_ls.lsp.errors import InvalidArguments, RequestFailed, command_object
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.positions import make_range, to_units

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

SKILL = "localgpt.skill"
SKILLS = "localgpt.skills"
KIND = "refactor.rewrite.localgpt.skill"
MAX_ACTIONS = 12
MAX_SELECTION = 20_000
SLASH = re.compile(r"^(\s*)/([a-z0-9-]*)$")


def is_skill_file(ls: LocalGPTServer, path: Path | None) -> bool:
    root = ls.workspace_root
    return (path is not None and root is not None and path.name == core.SKILL_FILE
            and path.parent.parent == root / "skills")


def diagnostics(ls: LocalGPTServer, path: Path, text: str, lines: list[str]
                ) -> list[types.Diagnostic]:
    _, _, problems = core.parse(text, path.parent.name)
    out = []
    for problem in problems:
        row = min(problem.line, max(0, len(lines) - 1))
        width = len(lines[row]) if lines else 0
        out.append(types.Diagnostic(
            range=make_range(lines, row, 0, width, ls.encoding), message=problem.message,
            severity=types.DiagnosticSeverity.Error, source="localgpt", code=problem.code))
    return out


def _skills(ls: LocalGPTServer) -> list[core.Skill]:
    root = ls.workspace_root
    return core.discover(root) if root is not None else []


def complete(ls: LocalGPTServer, line: str, row: int, cursor: int
             ) -> types.CompletionList | None:
    """`/wee` at the start of a line -> `/weekly-review` and the other skills."""
    m = SLASH.match(line[:cursor])
    if m is None:
        return None
    start = to_units(line, len(m.group(1)) + 1, ls.encoding)
    end = to_units(line, cursor, ls.encoding)
    rng = types.Range(start=types.Position(line=row, character=start),
                      end=types.Position(line=row, character=end))
    items = [types.CompletionItem(
        label=f"/{s.name}", kind=types.CompletionItemKind.Function, detail=s.path,
        documentation=s.description, filter_text=s.name,
        text_edit=types.TextEdit(range=rng, new_text=s.name))
        for s in _skills(ls) if s.user_invocable and s.name.startswith(m.group(2))]
    return types.CompletionList(is_incomplete=False, items=items) if items else None


def code_actions(ls: LocalGPTServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """One action per skill for a non-empty selection in a markdown document."""
    from localgpt_ls.lsp.codeactions import wanted

    uri = params.text_document.uri
    rng = params.range
    if (not uri.lower().endswith(".md") or ls.engine is None or rng.start == rng.end
            or not wanted(KIND, params.context.only)):
        return []
    args = {"uri": uri, "range": {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character}}}
    return [types.CodeAction(
        title=f"LocalGPT skill: {s.name}", kind=KIND,
        command=types.Command(title=f"LocalGPT skill: {s.name}", command=SKILL,
                              arguments=[{**args, "name": s.name}]))
        for s in _skills(ls)[:MAX_ACTIONS] if s.user_invocable and not s.blocked]


def _selection(ls: LocalGPTServer, args: dict[str, Any]) -> str:
    uri = args.get("uri")
    if uri is None:
        return ""
    if not isinstance(uri, str):
        raise InvalidArguments(f"{SKILL}: 'uri' must be a string")
    from localgpt_ls.lsp.assistant_actions import _range_arg, find_passage

    passage = find_passage(ls, uri, _range_arg(args)) if "range" in args else None
    if passage is None:
        return ""
    if len(passage.text) > MAX_SELECTION:
        raise RequestFailed(f"{SKILL}: the selection has {len(passage.text):,} characters; "
                            f"select at most {MAX_SELECTION:,}")
    return passage.text


async def run_skill(ls: LocalGPTServer, args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidArguments(f"{SKILL} needs 'name', the skill's name")
    request = args.get("request", "")
    if not isinstance(request, str):
        raise InvalidArguments(f"{SKILL}: 'request' must be a string")
    engine = ls.require_engine()
    skill = await ls.run_blocking(core.find, engine.workspace, name.strip())
    if skill is None:
        known = ", ".join(s.name for s in await ls.run_blocking(core.discover, engine.workspace))
        raise RequestFailed(f"{SKILL}: no skill named {name!r} in skills/ "
                            f"({known or 'there are none yet'})")
    if skill.blocked:
        raise RequestFailed(f"{SKILL}: the skill {skill.name!r} cannot run here: "
                            f"{skill.blocked}")
    selection = _selection(ls, args)
    message, extra = core.invocation(skill, request)
    from localgpt_ls.lsp.assistant_commands import make_approver

    result = await engine.agent.run_turn(message, context=selection or None, system_extra=extra,
                                         approver=make_approver(ls))
    ls.show(f"LocalGPT ({skill.name}): {result.response}", types.MessageType.Info)
    return {"name": skill.name, "response": result.response, "model": result.model}


class Skills(Feature):
    """The commands and the per-skill code actions; diagnostics and completion call the
    functions above from their own features."""

    code_action_kinds = (types.CodeActionKind.RefactorRewrite,)  # KIND is a sub-kind

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(self.server, params)

    def commands(self) -> Mapping[str, Callable[..., Any]]:
        async def skill(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            return await run_skill(ls, command_object(SKILL, arguments))

        async def skills(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(SKILLS, arguments)
            found = await ls.run_blocking(_skills, ls)
            return {"skills": [{"name": s.name, "description": s.description, "path": s.path,
                                "user_invocable": s.user_invocable} for s in found]}

        return {SKILL: skill, SKILLS: skills}
