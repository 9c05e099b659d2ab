"""The language-server door: pygls 2 server, one module per feature, registered in `server.py`.

Layout (each feature module has `register(server)`; `server.create_server` calls them in order):

- `server.py`      LocalGPTServer (shared state: options, engine, notes index, caches, debouncer,
                   `run_blocking` for worker-thread work, `until_scanned` for generator handlers,
                   `startup_hooks`), the protocol that answers malformed params with InvalidParams,
                   the stdio/TCP entry point, and the FEATURES list in `create_server`.
- `lifecycle.py`   initialize/initialized/shutdown, workspace resolution, document sync,
                   settings (initializationOptions < workspace/configuration), file watching
                   (dynamic registration or our own watcher), the vault scan, memory indexing.
- `options.py`     initializationOptions / settings as typed attrs classes (cattrs).
- `notes.py`       NoteInfo/NoteIndex: the workspace model built from `markdown.parse`, the scan
                   (worker processes, on-disk cache).
- `links.py`       link resolution (path, stem, loose slug name, heading slug) and link parts.
- `positions.py`   UTF-16/UTF-8/UTF-32 <-> str offsets.
- `completion.py`, `hover.py`, `navigation.py` (definition, references, symbols, document links,
  folding), `rename.py`, `diagnostics.py`, `codeactions.py` (PROVIDERS list + createNote),
  `edits.py` (WorkspaceEdit building), `status.py` (localgpt/status, work-done progress),
  `heartbeat.py` (heartbeat commands, code lens, schedule).
"""
