"""The language-server door: pygls 2, the features as objects (esbonio style).

Structure (imports point down this list; nothing inside lsp/ imports in a circle):

- `serve.py`       `start()`: stdio (read on the event loop) or TCP; leaving fast on `exit`.
- `app.py`         `create_server()` and FEATURES: builds a fresh object per feature and
                   registers each LSP method once; shared methods (initialize, document sync,
                   code actions and resolve, code lenses, shutdown) call every feature's hook,
                   a failing feature is logged and skipped.
- `feature.py`     the `Feature` base class and its hooks (`Handler` for a method one feature
                   answers alone).
- features         `lifecycle.py` (workspace, engine, settings, notes scan, file watching,
                   memory index in step), `completion.py`, `hover.py`, `navigation.py`
                   (definition, references, symbols, document links, folding), `rename.py`,
                   `diagnostics.py`, `codeactions.py` (link quick fixes, createNote),
                   `heartbeat.py` (schedule, commands, lens), `assistant_commands.py` (chat,
                   memory search, reindex, remember, daily log, sessions),
                   `assistant_actions.py` (ask/summarize/rewrite/... on a selection),
                   `chatdoc.py` (chat documents), `inline.py` (inline completion).
- `server.py`      LocalGPTServer: the typed state features share (engine, options, notes
                   model, open documents, worker threads, background tasks, cancellation).
- `protocol.py`    the few departures from pygls's protocol (malformed params answered,
                   errors through the funnel, fast exit, cancelling running commands).
- `errors.py`      the error funnel: LocalGPTError -> RequestFailed with its sentence;
                   InvalidArguments; `command_object` (a command's one JSON object).
- helpers          `editor_bridge.py` (the engine's writes to open documents, via applyEdit),
                   `edits.py` (WorkspaceEdit building), `status.py` (localgpt/status, progress),
                   `notes.py` (the notes model from markdown.parse; which files are notes is
                   localgpt_ls/notefiles.py), `links.py` (the editor's notes handed to
                   link_targets; link offsets), `positions.py`, `options.py`, `debounce.py`.

The rules the editor shares with the other doors live in the core: notefiles (what a note is),
markdown (tasks), daily_log, heartbeat.schedule (active hours), index_sync (file events, the
follower thread), link_targets (where a link leads).
"""
