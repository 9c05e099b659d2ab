"""shell {command}: one command in a bubblewrap sandbox, approved by the user each time.

Off until `[tools] shell_enabled = true`. Each run: the user approves the exact command through
the door (CLI y/n, editor prompt); where nobody can answer (the heartbeat, MCP) only the
commands listed in `[tools] shell_allow_unattended` run. The sandbox (bwrap): new namespaces
for everything, network included, so there is none; the system folders read-only; the
workspace the only writable path (and the working directory); a private /tmp; no home folder,
no LOCALGPT_HOME, no /etc/shadow; an empty environment (no API keys). A timeout kills the whole
process group, and output beyond the cap is dropped. Without bubblewrap the tool refuses:
it never runs a command unsandboxed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from localgpt_ls.agent.tools import Tool, ToolContext, ToolError, _obj, _str_arg
from localgpt_ls.llm.types import ToolSpec

MAX_COMMAND = 10_000
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Enough of /etc for programs to start, resolve users and read certificates; nothing secret.
ETC_FILES = ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
             "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
             "/etc/ssl", "/etc/ca-certificates", "/etc/mime.types")
PATH = "/usr/local/bin:/usr/bin:/bin"
INSTALL_HINT = ("the shell tool runs commands only inside a bubblewrap sandbox, and `bwrap` "
                "is not installed: install the Debian/Ubuntu package `bubblewrap` (Fedora: "
                "bubblewrap), or leave [tools] shell_enabled off")


def bwrap_command(workspace: Path, command: str, bwrap: str = "bwrap") -> list[str]:
    """The bwrap argument list for one command (a login-less `sh -c`)."""
    ws = str(workspace.resolve())
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-all", "--clearenv",
            "--setenv", "PATH", PATH, "--setenv", "HOME", ws, "--setenv", "LANG", "C.UTF-8",
            "--setenv", "TMPDIR", "/tmp", "--hostname", "sandbox"]
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    for name in ETC_FILES:
        args += ["--ro-bind-try", name, name]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--bind", ws, ws, "--chdir", ws, "/bin/sh", "-c", command]
    return args


async def _approve(ctx: ToolContext, command: str) -> None:
    if ctx.approver is None:
        if command in ctx.settings.shell_allow_unattended:
            return
        raise ToolError("running a command needs the user's approval and nobody can approve "
                        "here; only the commands in [tools] shell_allow_unattended run "
                        "unattended. Tell the user what you would run instead")
    if not await ctx.approver("shell", f"run in the sandbox: {command}"):
        raise ToolError(f"the user declined to run: {command}")


async def run_sandboxed(workspace: Path, command: str, timeout: float,
                        max_output: int) -> tuple[str, int | None, list[str]]:
    """(output, exit code or None when killed, notes) of one sandboxed command."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise ToolError(INSTALL_HINT)
    proc = await asyncio.create_subprocess_exec(
        *bwrap_command(workspace, command, bwrap), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)
    assert proc.stdout is not None
    out = bytearray()
    notes: list[str] = []

    async def read() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            if notes:
                continue  # killed: read on to the end of the pipe so it closes
            room = max_output - len(out)
            out.extend(chunk[:room])
            if len(chunk) > room:
                notes.append(f"output cut at {max_output} bytes; the command was stopped")
                _kill(proc)

    try:
        await asyncio.wait_for(read(), timeout)
        code: int | None = await asyncio.wait_for(proc.wait(), max(1.0, timeout))
    except TimeoutError:
        notes.append(f"stopped after {timeout:g} s (the time limit)")
        _kill(proc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        code = None
    except asyncio.CancelledError:
        _kill(proc)
        raise
    if notes and notes[0].startswith("output cut"):
        code = None
    return out.decode("utf-8", errors="replace"), code, notes


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def shell(args: dict[str, Any], ctx: ToolContext) -> str:
    command = _str_arg(args, "command").strip()
    if not command:
        raise ToolError("the command is empty")
    if len(command) > MAX_COMMAND:
        raise ToolError(f"the command is longer than {MAX_COMMAND} characters")
    if "\x00" in command:
        raise ToolError("the command contains a NUL character")
    if shutil.which("bwrap") is None:
        raise ToolError(INSTALL_HINT)  # before asking: approving could not help
    await _approve(ctx, command)
    output, code, notes = await run_sandboxed(
        ctx.workspace, command, ctx.settings.bash_timeout_ms / 1000,
        ctx.settings.shell_max_output_bytes)
    if code not in (0, None) and output.startswith("bwrap:"):
        # The sandbox itself did not start (e.g. user namespaces are disabled): the command
        # never ran, and it is not going to run outside the sandbox either.
        raise ToolError(f"the sandbox could not start, so nothing ran: {output.strip()[:300]}; "
                        "bubblewrap needs unprivileged user namespaces (see the README)")
    status = "killed" if code is None else f"exit code {code}"
    tail = "".join(f"\n[{n}]" for n in notes)
    return f"$ {command}\n{output.rstrip()}\n[{status}; sandbox: no network, only the " \
           f"workspace writable]{tail}"


TOOLS: Iterable[Tool] = (
    Tool(ToolSpec("shell", "Run one shell command (sh -c) in a sandbox: the workspace is the "
                  "working directory and the only writable place, there is no network, and "
                  "the user approves each command.",
                  _obj({"command": {"type": "string"}}, ["command"])),
         shell, lambda a: "shell", lambda settings: settings.shell_enabled),
)
