-- Plugin options: defaults merged with what setup(opts) receives. Every other module reads
-- `require('localgpt.config').options`, so lsp/localgpt.lua (loaded lazily by vim.lsp.config)
-- sees the user's cmd even when setup() ran first.
local M = {}

M.defaults = {
  -- The server command line (stdio). A virtualenv: { '/path/venv/bin/localgpt', 'lsp' }, or
  -- { '/path/venv/bin/python', '-m', 'localgpt_ls', 'lsp' }.
  cmd = { 'localgpt', 'lsp' },
  -- Extra environment for the server process (e.g. { LOCALGPT_HOME = '~/.localgpt' }).
  cmd_env = nil,
  -- The LocalGPT workspace; nil: the root folder found by root_markers, else config.toml's.
  workspace = nil,
  -- Call vim.lsp.enable('localgpt') from setup(), so markdown buffers in a workspace attach.
  enable = true,
  -- Extra initializationOptions for the server (see the server's docs); merged with workspace.
  init_options = {},
  -- Results per :LocalGPTSearch.
  search_limit = 20,
  -- :LocalGPTSearch shows results in the quickfix list ('quickfix') or vim.ui.select ('select').
  search_picker = 'quickfix',
  -- Where :LocalGPTChat opens its buffer: 'vsplit', 'split' or 'tab'.
  chat_split = 'vsplit',
  -- Seconds before a chat request is given up (the provider may be slow; 0 = never).
  chat_timeout = 300,
  -- Completion pops up while typing `[[`, `](` and `#` (vim.lsp.completion, autotrigger).
  completion = true,
  -- Buffer-local keys in attached buffers; false for none, or false for one of them.
  keymaps = {
    definition = 'gd',
    hover = 'K',
    references = 'gr',
    code_action = '<leader>ca',
  },
}

M.options = vim.deepcopy(M.defaults)

--- Merge user options over the defaults (unknown keys are kept: they do no harm).
---@param opts table|nil
function M.set(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- A list option must replace, not merge index by index.
  if opts and opts.cmd then
    M.options.cmd = vim.deepcopy(opts.cmd)
  end
  -- keymaps = false turns every key off (a deep merge would keep the defaults).
  if opts and opts.keymaps == false then
    M.options.keymaps = false
  end
  return M.options
end

M.root_markers = { 'SOUL.md', 'MEMORY.md', 'HEARTBEAT.md', 'AGENTS.md' }

--- Why this Neovim cannot run the plugin, or nil. Kept to what Neovim 0.7 has: the commands
--- call it before anything else, so an old Neovim gets this sentence, not a Lua traceback.
---@return string|nil
function M.too_old()
  if vim.fn.has('nvim-0.11') == 1 then
    return nil
  end
  local v = vim.version()
  return ('LocalGPT needs Neovim 0.11 or newer (vim.lsp.config); this is %d.%d.%d. Install a '
    .. 'newer one (editors/nvim/README.md says how); until then LocalGPT does nothing here')
    :format(v.major, v.minor, v.patch)
end

return M
