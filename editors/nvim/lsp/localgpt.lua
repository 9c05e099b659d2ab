-- LocalGPT language server config for Neovim 0.11+ (`vim.lsp.config` / `vim.lsp.enable`).
-- Neovim reads this file from the runtimepath when the 'localgpt' config is first resolved;
-- the cmd comes from require('localgpt').setup({ cmd = ... }), default { 'localgpt', 'lsp' }.
local config = require('localgpt.config')
local opts = config.options

local init_options = vim.deepcopy(opts.init_options or {})
if opts.workspace then
  init_options.workspace = vim.fn.expand(opts.workspace)
end

if next(init_options) == nil then
  init_options = nil -- an empty Lua table would go out as [] and the server wants an object
end

local cmd = vim.deepcopy(opts.cmd)
cmd[1] = vim.fn.expand(cmd[1])

---@type vim.lsp.Config
return {
  cmd = cmd,
  cmd_env = opts.cmd_env,
  filetypes = { 'markdown' },
  -- Never attach to markdown outside a LocalGPT workspace (a README elsewhere is not memory):
  -- the root is the folder holding SOUL.md, MEMORY.md, ... and without one on_dir is never
  -- called, so no client starts. root_markers alone would not do: Neovim 0.11.0 then starts the
  -- server in single-file mode, and workspace_required only exists from 0.11.1 on.
  root_dir = function(bufnr, on_dir)
    local root = vim.fs.root(bufnr, config.root_markers)
    if root then
      on_dir(root)
    end
  end,
  workspace_required = true,
  -- The server reports unknown keys to the user, so only keys that were set are sent.
  init_options = init_options,
  on_attach = function(client, bufnr)
    require('localgpt.attach').on_attach(client, bufnr)
  end,
  handlers = {
    ['localgpt/status'] = function(...)
      return require('localgpt.status').handler(...)
    end,
    ['localgpt/chatDelta'] = function(...)
      return require('localgpt.chat').on_delta(...)
    end,
  },
}
