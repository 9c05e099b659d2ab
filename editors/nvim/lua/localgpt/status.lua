-- The last `localgpt/status` notification {state, message}, for statuslines.
local M = {}

---@type {state: string, message: string?}|nil
M.last = nil

local labels = {
  starting = 'starting',
  ready = 'ready',
  idle = 'idle',
  indexing = 'indexing…',
  thinking = 'thinking…',
  error = 'error',
}

--- Handler for the `localgpt/status` notification.
function M.handler(_, params)
  if type(params) ~= 'table' or type(params.state) ~= 'string' then
    return
  end
  M.last = { state = params.state, message = params.message }
  if params.state == 'error' and params.message then
    vim.notify('LocalGPT: ' .. params.message, vim.log.levels.WARN)
  end
  -- Statuslines only re-evaluate on redraw; User autocmd lets other plugins react too.
  vim.api.nvim_exec_autocmds('User', { pattern = 'LocalGPTStatus', modeline = false, data = M.last })
  vim.cmd.redrawstatus({ bang = true })
end

--- A short string for the statusline: '' when the server never reported anything.
---@return string
function M.statusline()
  if not M.last then
    return ''
  end
  return 'LocalGPT: ' .. (labels[M.last.state] or M.last.state)
end

return M
