"""Markdown parsing as the editor and the index see it: line numbers must point at real lines."""

from __future__ import annotations

import itertools

from localgpt_ls import markdown
from localgpt_ls.markdown import chunk, parse, slugify, split_lines

NOTE = """# Project Atlas #work

Intro with [[Note A]], [[b#Plan|the plan]], [[c|alias]] and [[d#Risks]].
See [spec](specs/api%20v2.md#Auth%20Flow), [sp](<with space.md>), [here](#local-part),
![img](a.png) and [web](https://example.com/page#frag) and `[[not a link]] #notatag`.
Issue #123 is not a tag, nor is x#y, but #nested/tag and #café are.

```python
# not a heading [[nolink]] #nope
```

## Tasks

- [ ] write the draft [[Draft]]
- [x] book the room
  ```
  - [ ] fenced, not a task #nope2
  ```
1. [X] numbered done

<!-- [[commented]] #hidden -->
Setext Title
------------
Tail ``code with `[[x]]` inside`` end.
"""


def test_headings_sections_and_paths() -> None:
    doc = parse(NOTE)
    got = [(h.level, h.text, h.line, h.end_line, h.path) for h in doc.headings]
    assert got == [
        (1, "Project Atlas #work", 1, 24, ("Project Atlas #work",)),
        (2, "Tasks", 12, 21, ("Project Atlas #work", "Tasks")),
        (2, "Setext Title", 22, 24, ("Project Atlas #work", "Setext Title")),
    ]
    assert doc.headings[1].slug == "tasks"


def test_links_with_exact_positions() -> None:
    doc = parse(NOTE)
    lines = split_lines(NOTE)
    got = [(lk.kind, lk.target, lk.heading, lk.alias, lk.line) for lk in doc.links]
    assert got == [
        ("wiki", "Note A", None, None, 3),
        ("wiki", "b", "Plan", "the plan", 3),
        ("wiki", "c", None, "alias", 3),
        ("wiki", "d", "Risks", None, 3),
        ("md", "specs/api v2.md", "Auth Flow", "spec", 4),
        ("md", "with space.md", None, "sp", 4),
        ("md", "", "local-part", "here", 4),
        ("wiki", "Draft", None, None, 14),
    ]
    for lk in doc.links:
        assert lines[lk.line - 1][lk.start:lk.end] == lk.raw
    assert doc.links[1].raw == "[[b#Plan|the plan]]"


def test_md_link_destination_with_spaces_in_angle_brackets() -> None:
    # the CommonMark way to write a path with spaces; a bare space ends the destination
    doc = parse("[a](<my notes/x y.md#Part 2>) and [b](x y.md)\n")
    assert [(lk.target, lk.heading) for lk in doc.links] == [("my notes/x y.md", "Part 2")]


def test_tags_skip_numbers_urls_code_and_comments() -> None:
    doc = parse(NOTE)
    lines = split_lines(NOTE)
    assert [(t.name, t.line) for t in doc.tags] == [
        ("work", 1), ("nested/tag", 6), ("café", 6)]
    for t in doc.tags:
        assert lines[t.line - 1][t.start:t.end] == "#" + t.name


def test_tasks_in_lists_only() -> None:
    doc = parse(NOTE)
    assert [(t.line, t.checked, t.text) for t in doc.tasks] == [
        (14, False, "write the draft [[Draft]]"), (15, True, "book the room"),
        (19, True, "numbered done")]


def test_code_spans_and_fences_hide_links() -> None:
    doc = parse("``a `[[x]]` b`` [[y]]\n\n    [[indented]]\n\n~~~\n[[t]]\n~~~\n")
    assert [lk.target for lk in doc.links] == ["y"]


def test_crlf_and_unicode_offsets() -> None:
    text = "# Ünïcode 猫\r\n\r\nnaïve 🐈 [[猫 note]] #タグ\r\n"
    doc = parse(text)
    assert doc.headings[0].slug == "ünïcode-猫"
    (lk,) = doc.links
    assert (lk.line, lk.target) == (3, "猫 note")
    assert "naïve 🐈 [[猫 note]] #タグ"[lk.start:lk.end] == "[[猫 note]]"
    assert [t.name for t in doc.tags] == ["タグ"]


def test_slugify_like_github() -> None:
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("  API v2: Auth & Tokens ") == "api-v2-auth--tokens"
    assert slugify("snake_case-and-dash") == "snake_case-and-dash"


def test_small_note_is_one_chunk_with_real_lines() -> None:
    chunks = chunk(NOTE)
    assert len(chunks) == 1
    c = chunks[0]
    assert (c.line_start, c.line_end) == (1, 24)
    assert c.text == "\n".join(split_lines(NOTE)[0:24])


def _long_note() -> str:
    para = " ".join(f"word{i}" for i in range(60))  # ~110 tokens per paragraph line
    out = ["# Guide", "", "Short intro.", "", "## Install"]
    for _ in range(8):
        out += [para, ""]
    out += ["## Usage", "", "Run it.", "", "## Notes"]
    for i in range(3):
        out += [f"line {i} " + para[:100], ""]
    return "\n".join(out) + "\n"


def test_long_sections_split_at_paragraphs_and_never_cross_headings() -> None:
    text = _long_note()
    lines = split_lines(text)
    doc = parse(text)
    chunks = chunk(text, doc, chunk_tokens=400, overlap_tokens=80)
    heading_lines = {h.line for h in doc.headings}
    for c in chunks:
        assert c.text == "\n".join(lines[c.line_start - 1:c.line_end])
        assert lines[c.line_start - 1].strip() and lines[c.line_end - 1].strip()
        assert len(c.text) / 4 <= 400
    # "# Guide" + "Short intro." is tiny: merged with nothing bigger than the budget allows
    assert chunks[0].line_start == 1
    install = [c for c in chunks if c.heading_path == ("Guide", "Install")]
    assert len(install) >= 3
    # no chunk contains a heading except at its first line, unless sections were merged
    for c in chunks:
        inner = heading_lines & set(range(c.line_start + 1, c.line_end + 1))
        if inner:
            assert len(c.text) / 4 < 400
    # every non-blank line is in some chunk
    covered = {n for c in chunks for n in range(c.line_start, c.line_end + 1)}
    assert all(i + 1 in covered for i, ln in enumerate(lines) if ln.strip())


def test_tiny_sections_merge_with_common_heading_path() -> None:
    text = "# A\n\n## A1\n\none\n\n## A2\n\ntwo\n"
    (c,) = chunk(text)
    assert (c.line_start, c.line_end, c.heading_path) == (1, 9, ("A",))


def test_overlap_repeats_trailing_lines() -> None:
    text = "# T\n\n" + "\n".join(f"line number {i} with some words here" for i in range(200)) + "\n"
    chunks = chunk(text, chunk_tokens=100, overlap_tokens=20)
    assert len(chunks) > 3
    for a, b in itertools.pairwise(chunks):
        assert b.line_start <= a.line_end  # overlap
        assert b.line_start > a.line_start  # progress


def test_huge_single_line_is_cut_by_characters() -> None:
    text = "# H\n\n" + "x" * 10_000 + "\n"
    chunks = chunk(text)
    assert all(c.line_start == c.line_end == 3 for c in chunks[1:])
    assert "".join(c.text for c in chunks[1:]).count("x") >= 10_000


def test_parse_survives_garbage() -> None:
    import random
    rng = random.Random(7)
    alphabet = "#[]()`*-_>|\n \t!<abc/:~x\r"
    for _ in range(500):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        doc = parse(s)
        for c in chunk(s, doc, 30, 5):
            assert 1 <= c.line_start <= c.line_end <= len(doc.lines)


def test_heading_path_at_lines() -> None:
    doc = parse("# A\n\ntext\n\n## B\n\nb text\n\n# C\n\nc\n")
    got = [doc.heading_path_at(i) for i in range(1, 12)]
    assert got == [("A",)] * 4 + [("A", "B")] * 3 + [()] + [("C",)] * 3


def test_long_paragraph_line_is_cut_at_sentences_with_overlap() -> None:
    sentences = [f"Sentence number {i} talks about topic {i} at some length." for i in range(120)]
    text = "# P\n\n" + " ".join(sentences) + "\n"
    pieces = [c for c in chunk(text, chunk_tokens=100, overlap_tokens=20) if c.line_start == 3]
    assert len(pieces) > 3
    for piece in pieces[:-1]:
        assert piece.text.endswith(".")  # never mid-word or mid-sentence
        assert len(piece.text) <= 400
    for a, b in itertools.pairwise(pieces):
        assert b.text.split()[0] in a.text  # the next piece starts inside the previous one
    assert pieces[-1].text.endswith("at some length.")


def test_a_thousand_level_list_is_read_as_plain_text_and_nothing_is_lost() -> None:
    from tests.fuzz.markdown_corpus import nested_list

    text = "# Top\n\nSee [[kestrel]] #bird\n\n" + nested_list(1_000_000)  # 1,000 levels, 1 MB
    doc = markdown.parse(text)
    assert doc.warning and "deeper than" in doc.warning
    assert [lk.target for lk in doc.links] == ["kestrel"]
    assert [t.name for t in doc.tags] == ["bird"]
    chunks = markdown.chunk(text, doc)
    covered = {n for c in chunks for n in range(c.line_start, c.line_end + 1)}
    assert all(i + 1 in covered for i, line in enumerate(doc.lines) if line.strip())


def test_over_the_time_budget_a_note_is_read_as_plain_text() -> None:
    text = "# Title\n\n- [ ] a task\n\nSome [[link]] here.\n"
    assert markdown.parse(text).warning is None
    doc = markdown.parse(text, budget=-1.0)  # already spent
    assert doc.warning and "budget" in doc.warning
    assert doc.headings == [] and doc.tasks == []
    assert [lk.target for lk in doc.links] == ["link"]
    assert [(b.line_start, b.line_end) for b in doc.blocks] == [(1, 1), (3, 3), (5, 5)]


def test_a_paragraph_of_block_like_lines_keeps_its_text_as_a_setext_heading() -> None:
    doc = markdown.parse("para\n[x]: <y\nmore two\n---\n")
    assert [h.text for h in doc.headings] == ["para [x]: <y more two"]
