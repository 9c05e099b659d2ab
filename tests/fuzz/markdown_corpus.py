"""Pathological markdown: inputs shaped to make a parser's time grow faster than its size.

Each generator takes a target size in bytes and returns text about that big. The CI tests run
them at 1 MB; `benchmarks/hardening.py` at 4 MB.
"""

from __future__ import annotations

from collections.abc import Callable


def _fill(unit: Callable[[int], str], size: int) -> str:
    parts, total, i = [], 0, 0
    while total < size:
        piece = unit(i)
        parts.append(piece)
        total += len(piece)
        i += 1
    return "".join(parts)


def nested_list(size: int) -> str:
    """One list nested as deep as the size allows (1,000 levels is about 1 MB)."""
    depth = 1
    while sum(2 * i + 10 for i in range(depth + 1)) < size:
        depth += 1
    return "".join("  " * i + f"- item {i}\n" for i in range(depth))


def nested_quotes(size: int) -> str:
    depth = 1
    while sum(i + 8 for i in range(depth + 1)) < size:
        depth += 1
    return "".join(">" * i + f" q {i}\n" for i in range(1, depth))


def quotes_and_lists(size: int) -> str:
    depth = 1
    while sum(4 * i + 8 for i in range(depth + 1)) < size:
        depth += 1
    return "".join("> - " * i + f"x {i}\n" for i in range(1, depth))


def ordered_deep(size: int) -> str:
    depth = 1
    while sum(3 * i + 12 for i in range(depth + 1)) < size:
        depth += 1
    return "".join("   " * i + f"{i}. item\n" for i in range(depth))


def unclosed_comments(size: int) -> str:
    return _fill(lambda i: "<!-- open [[link]] #tag\n", size)


def brackets(size: int) -> str:
    half = size // 4
    return "[" * half + "x" + "]" * half + "(" * half + "\n"


def wiki_brackets(size: int) -> str:
    return "[[" * (size // 4) + "a|" * (size // 8) + "\n"


def backtick_runs(size: int) -> str:
    return _fill(lambda i: "`" * (i % 97 + 1) + " x ", size) + "\n"


def one_long_line(size: int) -> str:
    return _fill(lambda i: f"word{i} #tag{i} [[n{i}]] ", size) + "\n"


def many_headings(size: int) -> str:
    return _fill(lambda i: f"{'#' * (i % 6 + 1)} Heading {i}\n", size)


def setext_headings(size: int) -> str:
    return _fill(lambda i: f"Title {i}\n===\n", size)


def unclosed_fences(size: int) -> str:
    return _fill(lambda i: "  " * (i % 40) + "- ```\n", size)


def html_blocks(size: int) -> str:
    return _fill(lambda i: f"<div>\n<span>{i}\n", size)


def link_definitions(size: int) -> str:
    return _fill(lambda i: f"[ref{i}]: <http://x/{i}> \"t\n", size)


def tabs_and_markers(size: int) -> str:
    return _fill(lambda i: "\t" * (i % 50) + "* \t+ \t- [ ] \t" + "\n", size)


def emphasis(size: int) -> str:
    return _fill(lambda i: "*_" * 50 + "\n", size)


def task_spaces(size: int) -> str:
    return _fill(lambda i: "> " + " " * 4000 + ">" * 50 + " \t" * 200 + "\n", size)


def hashes(size: int) -> str:
    return "#" * size + "\n"


def table_pipes(size: int) -> str:
    return _fill(lambda i: "|" + " a |" * 200 + "\n", size)


CORPUS: dict[str, Callable[[int], str]] = {f.__name__: f for f in (
    nested_list, nested_quotes, quotes_and_lists, ordered_deep, unclosed_comments, brackets,
    wiki_brackets, backtick_runs, one_long_line, many_headings, setext_headings,
    unclosed_fences, html_blocks, link_definitions, tabs_and_markers, emphasis, task_spaces,
    hashes, table_pipes)}
