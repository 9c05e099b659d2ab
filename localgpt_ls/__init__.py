"""LocalGPT-LS: a local-first AI assistant with markdown memory, served to editors over LSP."""

__version__ = "0.1.0"
