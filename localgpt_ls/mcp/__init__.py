"""The MCP door: memory and the assistant for other AI tools (Claude Code, Cursor, Codex, ...),
over stdio (`localgpt mcp`) or streamable HTTP under the daemon (`/api/mcp`)."""
