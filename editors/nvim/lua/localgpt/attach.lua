-- What a markdown buffer gets when the LocalGPT client attaches: completion that pops up while
-- typing (`[[`, `](`, `#`) and buffer-local keys for the server's definition, hover, references
-- and code actions. Both can be turned off: setup({ completion = false, keymaps = false }), or
-- one key at a time (keymaps = { references = false }).
local config = require('localgpt.config')

local M = {}

local ACTIONS = {
  definition = { 'n', function() vim.lsp.buf.definition() end, 'LocalGPT: go to the linked note' },
  hover = { 'n', function() vim.lsp.buf.hover() end, 'LocalGPT: preview the link or memory' },
  references = { 'n', function() vim.lsp.buf.references() end, 'LocalGPT: notes linking here' },
  code_action = { { 'n', 'x' }, function() vim.lsp.buf.code_action() end, 'LocalGPT: actions (ask, summarize, create note...)' },
}

--- The keys in effect: the defaults with the user's table over them (false drops one).
function M.keymaps()
  local opt = config.options.keymaps
  if opt == false then
    return {}
  end
  local keys = vim.tbl_extend('force', config.defaults.keymaps, type(opt) == 'table' and opt or {})
  local out = {}
  for name, lhs in pairs(keys) do
    if lhs and ACTIONS[name] then
      out[name] = lhs
    end
  end
  return out
end

---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  local opts = config.options
  -- Neovim 0.11's LSP completion: the server's items in the popup as you type its trigger
  -- characters, with snippets and text edits applied; <C-x><C-o> keeps working too.
  if opts.completion and vim.lsp.completion and vim.lsp.completion.enable then
    -- With Neovim's default 'completeopt' the popup would insert its first item into the
    -- link as you type; where the user kept the default, this buffer selects nothing first.
    local info = vim.api.nvim_get_option_info2('completeopt', {})
    if vim.o.completeopt == info.default then
      vim.bo[bufnr].completeopt = 'menuone,noselect,popup'
    end
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true })
  end
  for name, lhs in pairs(M.keymaps()) do
    local mode, fn, desc = unpack(ACTIONS[name])
    vim.keymap.set(mode, lhs, fn, { buffer = bufnr, desc = desc, silent = true })
  end
end

return M
