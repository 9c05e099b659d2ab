"""The tools the model can call, and the one place that runs them.

Every path a model gives goes through workspace.safe_path. Results are capped in length and
wrapped in <data source=...> so the model can tell file contents from instructions. Writes to
files other than the memory logs need the user's approval through the door's Approver; with no
approver (nobody to ask) they are refused with an error the model can relay.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from localgpt_ls import daily_log
from localgpt_ls.agent.events import Approver
from localgpt_ls.config import ALWAYS_APPROVED, ToolsConfig
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.types import INVALID_ARGUMENTS, ToolCall, ToolSpec
from localgpt_ls.markdown import tick_task
from localgpt_ls.notefiles import looks_binary
from localgpt_ls.textsafety import clean_input, clean_value, decode_text
from localgpt_ls.workspace import read_workspace_file, safe_path, write_workspace_file

log = logging.getLogger("localgpt_ls.agent")

RESULT_CAP = 12_000
READ_LINES_DEFAULT = 200
READ_LINES_MAX = 1_000
FILE_SIZE_MAX = 2_000_000


LineEditor = Callable[[Path, int, str, str], Awaitable[bool]]


class ToolError(Exception):
    """A tool failed in a way the model should hear about (the turn goes on)."""


@dataclass
class ToolContext:
    workspace: Path
    # Returns the MemoryIndex (Engine.memory); a callable so the index opens only when used.
    memory: Callable[[], Any] | None = None
    approver: Approver | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    # Supplied by an editor door: replace line `index` (0-based) of an open document when it
    # still reads `old`; returns False when the file is not open there (then it is written).
    line_editor: LineEditor | None = None
    # Workspace files memory search never returns in this turn: the chat document the
    # question is typed in would otherwise be the top hit for its own question.
    exclude_files: frozenset[str] = frozenset()
    # [tools] of config.toml: limits, which tools are on, which ask first.
    settings: ToolsConfig = field(default_factory=ToolsConfig)
    # True where the door fills vectors in behind the keyword index itself (the editor
    # embeds changed files in its background thread): memory_append then indexes keywords
    # only. Embedding in the call took 16.7 s during a forced reindex: the new line waited
    # behind the model load and the whole backlog of chunks without vectors.
    embed_behind: bool = False


Handler = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass
class Tool:
    spec: ToolSpec
    handler: Handler
    # Where the result came from, for the <data source=...> wrapper.
    source: Callable[[dict[str, Any]], str] = field(default=lambda args: "")
    # Whether config offers the tool at all (the shell is off until the user turns it on).
    available: Callable[[ToolsConfig], bool] = field(default=lambda settings: True)


def wrap(source: str, text: str, cap: int = RESULT_CAP) -> str:
    """Cap and fence a tool result; a `</data` inside the text cannot close the fence."""
    if len(text) > cap:
        text = (text[:cap] + f"\n[... {len(text) - cap} more characters left "
                "out; ask for a smaller range]")
    text = text.replace("</data", "<\\/data")
    attr = f' source="{source}"' if source else ""
    return f"<data{attr}>\n{text}\n</data>"


def _str_arg(args: dict[str, Any], name: str, required: bool = True) -> str:
    value = args.get(name)
    if value is None:
        if required:
            raise ToolError(f"missing argument '{name}'")
        return ""
    if not isinstance(value, str):
        raise ToolError(f"argument '{name}' must be a string")
    return value


def _int_arg(args: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = args.get(name, default)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ToolError(f"argument '{name}' must be an integer") from None
    return max(low, min(high, number))


def _path(ctx: ToolContext, given: str) -> Path:
    try:
        return safe_path(ctx.workspace, given)
    except LocalGPTError as exc:
        raise ToolError(str(exc)) from None


async def _read(ctx: ToolContext, path: Path, rel: str) -> str:
    """A file's text, read in a worker thread: tools run on a door's event loop (the language
    server's answers every keystroke), and a file on a slow disk must not stall it."""
    return await asyncio.to_thread(_read_text, ctx, path, rel)


def _shown(ctx: ToolContext, path: Path) -> str:
    """Workspace-relative form of a path `_path` returned (already resolved, never re-resolved:
    the name may lead elsewhere by now)."""
    return path.relative_to(ctx.workspace.resolve()).as_posix()


def _read_text(ctx: ToolContext, path: Path, rel: str) -> str:
    """A workspace text file, read through an fd opened without following links (see
    workspace.open_in_workspace). Blocking."""
    try:
        data = read_workspace_file(ctx.workspace, path, FILE_SIZE_MAX)
    except (FileNotFoundError, NotADirectoryError):
        raise ToolError(f"'{rel}' does not exist in the workspace") from None
    except IsADirectoryError:
        raise ToolError(f"'{rel}' is a folder") from None
    except LocalGPTError as exc:
        raise ToolError(str(exc)) from None
    if looks_binary(data):
        raise ToolError(f"'{rel}' is a binary file")
    return decode_text(data)


def _write_text(ctx: ToolContext, path: Path, text: str) -> None:
    try:
        write_workspace_file(ctx.workspace, path, text)
    except IsADirectoryError:
        raise ToolError(f"'{_shown(ctx, path)}' is a folder") from None
    except LocalGPTError as exc:
        raise ToolError(str(exc)) from None


# -- heartbeat ------------------------------------------------------------------------------

def _replace_line(ctx: ToolContext, path: Path, index: int, old: str, new: str) -> None:
    """Swap one line on disk if it still reads `old`: a concurrent edit is never clobbered."""
    try:
        data = read_workspace_file(ctx.workspace, path, FILE_SIZE_MAX)
    except LocalGPTError as exc:
        raise ToolError(str(exc)) from None
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise ToolError("HEARTBEAT.md is not UTF-8 text; tick the item by hand") from None
    if index >= len(lines) or lines[index].rstrip("\r") != old:
        raise ToolError("HEARTBEAT.md changed meanwhile; read it again and retry")
    lines[index] = new + ("\r" if lines[index].endswith("\r") else "")
    _write_text(ctx, path, "\n".join(lines))


async def heartbeat_done(args: dict[str, Any], ctx: ToolContext) -> str:
    """Tick one open task of HEARTBEAT.md (`- [ ] x`, `1. [ ] x`: markdown.task_item), the
    only edit a background run may make there without asking, because it is narrow and the
    user can see and undo it."""
    want = _str_arg(args, "task").strip()
    if not want:
        raise ToolError("say which task: 'task' is empty")
    path = _path(ctx, "HEARTBEAT.md")
    lines = (await asyncio.to_thread(_read_text, ctx, path, "HEARTBEAT.md")).split("\n")
    found = [i for i, line in enumerate(lines)
             if tick_task(line.rstrip("\r")) is not None and want.casefold() in line.casefold()]
    if not found:
        raise ToolError(f"no open task in HEARTBEAT.md contains {want!r}")
    if len(found) > 1:
        raise ToolError(f"{len(found)} open tasks contain {want!r}; quote more of the item")
    index = found[0]
    old = lines[index].rstrip("\r")
    new = tick_task(old) or old
    if ctx.line_editor is None or not await ctx.line_editor(path, index, old, new):
        await asyncio.to_thread(_replace_line, ctx, path, index, old, new)
    return f"ticked HEARTBEAT.md:{index + 1}: {new.strip()}"


# -- memory tools ---------------------------------------------------------------------------

async def memory_search(args: dict[str, Any], ctx: ToolContext) -> str:
    query = _str_arg(args, "query").strip()
    if not query:
        raise ToolError("the query is empty")
    limit = _int_arg(args, "max_results", 6, 1, 20)
    if ctx.memory is None:
        raise ToolError("memory search is not available here")
    memory = ctx.memory

    def search() -> Any:
        return memory().search(query, limit=limit, exclude=ctx.exclude_files)

    try:
        response = await asyncio.to_thread(search)
    except LocalGPTError as exc:
        raise ToolError(f"memory search failed: {exc}") from None
    hits = list(getattr(response, "results", []) or [])
    if not hits:
        return f"No memory matches for {query!r}."
    lines = [f"{len(hits)} result(s) for {query!r}:"]
    for i, hit in enumerate(hits, 1):
        lines.append(f"\n{i}. {hit.file}:{hit.line_start}-{hit.line_end} "
                     f"(score {float(hit.score):.2f})")
        lines.append(str(hit.content).strip())
    return "\n".join(lines)


async def memory_get(args: dict[str, Any], ctx: ToolContext) -> str:
    rel = _str_arg(args, "path")
    path = _path(ctx, rel)
    if path.suffix.lower() != ".md":
        raise ToolError(f"memory_get reads markdown notes only; '{rel}' is not a .md file "
                        "(use read_file)")
    text = await _read(ctx, path, rel)
    lines = text.splitlines()
    start = _int_arg(args, "from", 1, 1, max(1, len(lines)))
    count = _int_arg(args, "lines", READ_LINES_DEFAULT, 1, READ_LINES_MAX)
    chunk = lines[start - 1:start - 1 + count]
    end = start + len(chunk) - 1
    shown = _shown(ctx, path)
    header = f"{shown} lines {start}-{end} of {len(lines)}"
    return header + "\n" + "\n".join(chunk)


def append_plan(text: str, target: str, now: datetime) -> tuple[str, str, str]:
    """Where `memory_append` writes and what: (workspace-relative file, how a new file starts,
    entry). Shared with the editor, which appends the same entry through applyEdit.
    NUL and lone surrogates are replaced here, on the way into the memory logs."""
    text = clean_input(text)
    if target == "daily":
        return daily_log.rel_path(now.date()), daily_log.header(now.date()), \
            daily_log.note_entry(text, now)
    if target == "memory":
        return "MEMORY.md", "# Memory\n\n", text
    raise ToolError("target must be \"daily\" or \"memory\"")


async def memory_append(args: dict[str, Any], ctx: ToolContext) -> str:
    text = _str_arg(args, "text").strip()
    if not text:
        raise ToolError("nothing to append: 'text' is empty")
    target = _str_arg(args, "target", required=False) or "daily"
    rel, header, entry = append_plan(text, target, ctx.now())
    path = _path(ctx, rel)
    await asyncio.to_thread(daily_log.append, ctx.workspace, path, entry, header)
    if ctx.memory is not None:
        memory = ctx.memory

        def reindex() -> None:
            index_file = getattr(memory(), "index_file", None)
            if index_file is not None:
                index_file(path, embed=not ctx.embed_behind)

        try:
            await asyncio.to_thread(reindex)
        except Exception as exc:  # the note is written; a stale index only delays search
            log.warning("could not index %s after append: %s", rel, exc)
    return f"appended to {rel}"


# -- workspace files ------------------------------------------------------------------------

async def _approve(ctx: ToolContext, tool: str, summary: str) -> None:
    if ctx.approver is None:
        raise ToolError(f"{tool} needs the user's approval and nobody can approve here (this "
                        "door has no approval prompt); tell the user what you would change "
                        "instead")
    if not await ctx.approver(tool, summary):
        raise ToolError(f"the user declined: {summary}")


async def read_file(args: dict[str, Any], ctx: ToolContext) -> str:
    rel = _str_arg(args, "path")
    path = _path(ctx, rel)
    text = await _read(ctx, path, rel)
    return f"{_shown(ctx, path)} ({len(text)} chars)\n{text}"


async def write_file(args: dict[str, Any], ctx: ToolContext) -> str:
    rel = _str_arg(args, "path")
    content = _str_arg(args, "content")
    path = _path(ctx, rel)
    if path.is_dir():
        raise ToolError(f"'{rel}' is a folder")
    shown = _shown(ctx, path)
    action = "overwrite" if path.exists() else "create"
    await _approve(ctx, "write_file", f"{action} {shown} ({len(content)} chars)")
    await asyncio.to_thread(_write_text, ctx, path, content)
    return f"wrote {shown} ({len(content)} chars)"


async def edit_file(args: dict[str, Any], ctx: ToolContext) -> str:
    rel = _str_arg(args, "path")
    old = _str_arg(args, "old_text")
    new = _str_arg(args, "new_text")
    path = _path(ctx, rel)
    text = await _read(ctx, path, rel)
    count = text.count(old) if old else 0
    if count != 1:
        raise ToolError(f"old_text must occur exactly once in {rel}; found {count} times "
                        "(read the file and copy a unique passage)")
    shown = _shown(ctx, path)
    preview = old.strip().replace("\n", " ")[:60]
    await _approve(ctx, "edit_file", f"edit {shown}: replace \"{preview}\"")
    # Re-read after the (possibly slow) approval so an edit made meanwhile is not lost.
    current = await _read(ctx, path, rel)
    if current.count(old) != 1:
        raise ToolError(f"{rel} changed while waiting for approval; read it again")
    await asyncio.to_thread(_write_text, ctx, path, current.replace(old, new, 1))
    return f"edited {shown}"


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


TOOLS: dict[str, Tool] = {t.spec.name: t for t in (
    Tool(ToolSpec("memory_search", "Search the memory workspace by keywords and meaning; "
                  "returns file:lines, score and the matching text.",
                  _obj({"query": {"type": "string"},
                        "max_results": {"type": "integer", "minimum": 1, "maximum": 20}},
                       ["query"])),
         memory_search, lambda a: "memory_search"),
    Tool(ToolSpec("memory_get", "Read lines of a markdown note in the workspace (path "
                  "relative to the workspace, from is 1-based).",
                  _obj({"path": {"type": "string"}, "from": {"type": "integer", "minimum": 1},
                        "lines": {"type": "integer", "minimum": 1}}, ["path"])),
         memory_get, lambda a: str(a.get("path", ""))),
    Tool(ToolSpec("memory_append", "Write something down: target \"daily\" appends to today's "
                  "log memory/YYYY-MM-DD.md, \"memory\" appends a durable fact to MEMORY.md.",
                  _obj({"text": {"type": "string"},
                        "target": {"type": "string", "enum": ["daily", "memory"]}},
                       ["text", "target"])),
         memory_append),
    Tool(ToolSpec("heartbeat_done", "Mark one open task of HEARTBEAT.md done (- [ ] becomes "
                  "- [x]); 'task' is part of the item's text.",
                  _obj({"task": {"type": "string"}}, ["task"])),
         heartbeat_done),
    Tool(ToolSpec("read_file", "Read a text file inside the workspace.",
                  _obj({"path": {"type": "string"}}, ["path"])),
         read_file, lambda a: str(a.get("path", ""))),
    Tool(ToolSpec("write_file", "Create or overwrite a file inside the workspace (the user "
                  "is asked to approve).",
                  _obj({"path": {"type": "string"}, "content": {"type": "string"}},
                       ["path", "content"])),
         write_file),
    Tool(ToolSpec("edit_file", "Replace one exact passage of a workspace file (old_text must "
                  "occur once; the user is asked to approve).",
                  _obj({"path": {"type": "string"}, "old_text": {"type": "string"},
                        "new_text": {"type": "string"}}, ["path", "old_text", "new_text"])),
         edit_file),
)}


def specs(names: list[str] | None = None,
          settings: ToolsConfig | None = None) -> list[ToolSpec]:
    settings = settings or ToolsConfig()
    return [t.spec for n, t in registry().items()
            if (names is None or n in names) and t.available(settings)]


async def run_tool(call: ToolCall, ctx: ToolContext,
                   allowed: list[str] | None = None) -> tuple[str, bool]:
    """Run one call -> (result text for the model, is_error). Never raises: the model hears
    what went wrong and can try again; a failure nobody foresaw is logged with its traceback
    and reported to the model in one line.

    Arguments are cleaned first (NUL and lone surrogates become U+FFFD): JSON can carry both,
    and neither can be a file name or be encoded into a note."""
    tool = registry().get(call.name)
    if (tool is None or (allowed is not None and call.name not in allowed)
            or not tool.available(ctx.settings)):
        names = ", ".join(s.name for s in specs(allowed, ctx.settings))
        return f"error: unknown tool '{call.name}'; available: {names}", True
    if INVALID_ARGUMENTS in call.arguments:
        return (f"error: the arguments for {call.name} were not valid JSON; send a JSON "
                f"object matching the schema", True)
    arguments = clean_value(call.arguments)
    try:
        if call.name in ctx.settings.require_approval and call.name not in ALWAYS_APPROVED:
            await _approve(ctx, call.name, f"{call.name} {summarize_arguments(arguments)}")
        text = await tool.handler(arguments, ctx)
    except ToolError as exc:
        return f"error: {exc}", True
    except LocalGPTError as exc:
        return f"error: {exc}", True
    except OSError as exc:
        return f"error: {exc.strerror or exc}", True
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("tool %s failed", call.name)
        return (f"error: {call.name} failed unexpectedly ({type(exc).__name__}); the details "
                "are in the log", True)
    return wrap(tool.source(arguments), text, ctx.settings.tool_output_max_chars), False


def summarize_arguments(arguments: dict[str, Any], limit: int = 120) -> str:
    text = json.dumps(arguments, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


_complete = False


def registry() -> dict[str, Tool]:
    """Every tool: those above, and those kept in modules of their own (skills, web fetch,
    the shell), which build on this module and so join it on first use, not at import."""
    global _complete
    if not _complete:
        from localgpt_ls.agent import shell, skills, web_fetch

        for module in (skills, web_fetch, shell):
            for tool in module.TOOLS:
                TOOLS.setdefault(tool.spec.name, tool)
        _complete = True
    return TOOLS
