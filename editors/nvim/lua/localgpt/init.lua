-- LocalGPT for Neovim 0.11+: the `localgpt` language server (lsp/localgpt.lua) plus chat,
-- memory search, remember, heartbeat and today's log commands (plugin/localgpt.lua).
--
--   require('localgpt').setup({ cmd = { 'localgpt', 'lsp' } })
--   vim.o.statusline = "%f %= %{v:lua.require'localgpt'.statusline()}"
local config = require('localgpt.config')

local M = {}

--- Configure the plugin and (unless opts.enable == false) enable the language server for
--- markdown buffers inside a LocalGPT workspace (a folder holding SOUL.md, MEMORY.md, ...).
---@param opts table|nil see lua/localgpt/config.lua for the keys and defaults
function M.setup(opts)
  local too_old = config.too_old()
  if too_old then
    vim.notify(too_old, vim.log.levels.ERROR)
    return
  end
  config.set(opts)
  -- lsp/localgpt.lua reads the options when the config resolves; this call drops any copy
  -- resolved before setup() so the new cmd and workspace take effect.
  vim.lsp.config('localgpt', {})
  if config.options.enable then
    vim.lsp.enable('localgpt')
    -- Neovim checks cmd before starting a client and, when it is not executable, says so only
    -- in its LSP log: a note of a workspace would silently get nothing. Say it once, here.
    vim.api.nvim_create_autocmd('FileType', {
      group = vim.api.nvim_create_augroup('localgpt.cmd_check', { clear = true }),
      pattern = 'markdown',
      callback = function(ev)
        if vim.fs.root(ev.buf, config.root_markers) then
          local resolved = vim.lsp.config.localgpt or {}
          if not require('localgpt.client').can_start(resolved.cmd, resolved.cmd_env) then
            return true -- warned once: drop this autocmd
          end
        end
      end,
    })
  end
end

--- 'LocalGPT: <state>' from the last `localgpt/status` notification ('' before the first one).
function M.statusline()
  return require('localgpt.status').statusline()
end

--- The last `localgpt/status` payload {state, message}, or nil.
function M.status()
  return require('localgpt.status').last
end

function M.chat()
  return require('localgpt.chat').open()
end

function M.ask(question)
  return require('localgpt.chat').ask(question)
end

function M.search(query, picker)
  return require('localgpt.commands').search(query, picker)
end

function M.remember(text, target)
  return require('localgpt.commands').remember(text, target)
end

function M.heartbeat()
  return require('localgpt.commands').heartbeat()
end

function M.today()
  return require('localgpt.commands').today()
end

return M
