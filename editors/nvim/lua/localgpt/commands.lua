-- The commands behind :LocalGPTSearch, :LocalGPTRemember, :LocalGPTHeartbeat, :LocalGPTToday
-- and :LocalGPTReindex. Each translates one server command into Neovim UI; nothing here decides
-- anything the server should decide.
local client_mod = require('localgpt.client')
local config = require('localgpt.config')

local M = {}

local function notify_err(what, err)
  vim.notify(('LocalGPT: %s: %s'):format(what, client_mod.errmsg(err)), vim.log.levels.ERROR)
end

--- `User LocalGPTCommandDone` with { command = ..., error = ... }: a hook for users and tests.
local function done(command, err)
  vim.api.nvim_exec_autocmds('User', { pattern = 'LocalGPTCommandDone', modeline = false,
    data = { command = command, error = err and client_mod.errmsg(err) or nil } })
end

local function first_line(text)
  for line in (text or ''):gmatch('[^\n]+') do
    local t = vim.trim(line)
    if t ~= '' then
      return t
    end
  end
  return ''
end

--- Memory hits as quickfix items (absolute file names, 1-based lines).
function M.search_items(result, root)
  local items = {}
  for _, hit in ipairs((result or {}).results or {}) do
    table.insert(items, {
      filename = client_mod.abspath(root, hit.file),
      lnum = hit.line_start,
      end_lnum = hit.line_end,
      col = 1,
      text = ('[%.2f] %s'):format(tonumber(hit.score) or 0, first_line(hit.content)),
      user_data = hit,
    })
  end
  return items
end

--- :LocalGPTSearch {query}: memory search; quickfix list (default) or vim.ui.select.
---@param query string
---@param picker 'quickfix'|'select'|nil
function M.search(query, picker)
  query = vim.trim(query or '')
  if query == '' then
    vim.ui.input({ prompt = 'LocalGPT search: ' }, function(input)
      if input and vim.trim(input) ~= '' then
        M.search(input, picker)
      end
    end)
    return
  end
  picker = picker or config.options.search_picker
  client_mod.exec('localgpt.memorySearch', { query = query, limit = config.options.search_limit },
    function(err, result, client)
      local function done(data)
        vim.api.nvim_exec_autocmds('User', { pattern = 'LocalGPTSearchDone', modeline = false, data = data })
      end
      if err then
        notify_err('memory search failed', err)
        return done({ error = client_mod.errmsg(err) })
      end
      local items = M.search_items(result, client_mod.root(client, result))
      vim.fn.setqflist({}, ' ', { title = 'LocalGPT: ' .. query, items = items })
      done({ count = #items })
      if #items == 0 then
        vim.notify(('LocalGPT: nothing in memory matches "%s"'):format(query), vim.log.levels.INFO)
        return
      end
      if picker == 'select' then
        vim.ui.select(items, {
          prompt = 'LocalGPT: ' .. query,
          format_item = function(item)
            return ('%s:%d  %s'):format(vim.fn.fnamemodify(item.filename, ':~:.'), item.lnum, item.text)
          end,
        }, function(item)
          if item then
            vim.cmd.edit(vim.fn.fnameescape(item.filename))
            vim.api.nvim_win_set_cursor(0, { item.lnum, 0 })
          end
        end)
      else
        vim.cmd('botright copen')
      end
    end)
end

--- The text of a range: the exact visual selection when the command came from visual mode,
--- else whole lines line1..line2.
function M.range_text(line1, line2)
  local mode = vim.fn.visualmode()
  local vs, ve = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  if mode ~= '' and vs[2] == line1 and ve[2] == line2 then
    local ok, region = pcall(vim.fn.getregion, vs, ve, { type = mode })
    if ok then
      return table.concat(region, '\n')
    end
  end
  return table.concat(vim.api.nvim_buf_get_lines(0, line1 - 1, line2, false), '\n')
end

--- :'<,'>LocalGPTRemember [daily|memory]: append the selection to today's log or MEMORY.md.
function M.remember(text, target)
  text = vim.trim(text or '')
  if text == '' then
    vim.notify('LocalGPT: select the text to remember first', vim.log.levels.WARN)
    return
  end
  local args = { text = text }
  if target and target ~= '' then
    args.target = target
  end
  client_mod.exec('localgpt.remember', args, function(err, result)
    if err then
      notify_err('could not remember that', err)
      return done('remember', err)
    end
    local where = type(result) == 'table' and (result.file or result.path) or (target or 'daily')
    vim.notify(('LocalGPT: remembered in %s'):format(where), vim.log.levels.INFO)
    done('remember')
  end)
end

--- What a heartbeat result says, whatever fields the server chose.
function M.heartbeat_summary(result)
  if type(result) == 'table' then
    for _, key in ipairs({ 'text', 'response', 'message', 'alert' }) do
      if type(result[key]) == 'string' and vim.trim(result[key]) ~= '' then
        return result[key]
      end
    end
    for _, key in ipairs({ 'outcome', 'status', 'state' }) do
      if type(result[key]) == 'string' then
        return 'heartbeat ' .. result[key]
      end
    end
  elseif type(result) == 'string' and result ~= '' then
    return result
  end
  return 'heartbeat done: nothing needs attention'
end

--- :LocalGPTHeartbeat: run the heartbeat once now.
function M.heartbeat()
  vim.notify('LocalGPT: running the heartbeat…', vim.log.levels.INFO)
  client_mod.exec('localgpt.heartbeatRun', {}, function(err, result)
    if err then
      notify_err('heartbeat failed', err)
      return done('heartbeat', err)
    end
    vim.notify('LocalGPT: ' .. M.heartbeat_summary(result), vim.log.levels.INFO)
    done('heartbeat')
  end)
end

--- :LocalGPTToday: the server opens memory/YYYY-MM-DD.md with window/showDocument; if it lacks
--- the command, open the file here (an unsaved new buffer when it does not exist yet).
function M.today()
  client_mod.exec('localgpt.openDailyLog', {}, function(err, _, client)
    if not err then
      return done('today')
    end
    local root = client_mod.root(client, nil)
    local file = vim.fs.joinpath(root, 'memory', os.date('%Y-%m-%d') .. '.md')
    vim.cmd.edit(vim.fn.fnameescape(file))
    if vim.fn.filereadable(file) == 0 and vim.api.nvim_buf_line_count(0) == 1 then
      vim.api.nvim_buf_set_lines(0, 0, -1, false, { '# ' .. os.date('%Y-%m-%d'), '', '' })
    end
    done('today')
  end)
end

--- :LocalGPTReindex[!]: bring the memory index up to date (! rebuilds it).
function M.reindex(force)
  client_mod.exec('localgpt.reindex', force and { force = true } or {}, function(err)
    if err then
      notify_err('reindex failed', err)
      return done('reindex', err)
    end
    vim.notify('LocalGPT: memory index up to date', vim.log.levels.INFO)
    done('reindex')
  end)
end

return M
