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

--- The LSP range of what :LocalGPTRemember took from the current buffer: the exact visual
--- selection when the command came from visual mode, else whole lines line1..line2.
function M.selection_range(line1, line2, encoding)
  local mode = vim.fn.visualmode()
  local vs, ve = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  if mode == 'v' and vs[2] == line1 and ve[2] == line2 then
    local last = vim.api.nvim_buf_get_lines(0, ve[2] - 1, ve[2], false)[1] or ''
    local end_col = math.min(ve[3], #last) -- '> is past the text after `$`
    return vim.lsp.util.make_given_range_params({ vs[2], vs[3] - 1 }, { ve[2], math.max(end_col - 1, 0) },
      0, encoding).range
  end
  local last = vim.api.nvim_buf_get_lines(0, line2 - 1, line2, false)[1] or ''
  return { start = { line = line1 - 1, character = 0 },
           ['end'] = { line = line2 - 1, character = vim.str_utfindex(last, encoding) } }
end

--- :'<,'>LocalGPTRemember [daily|memory]: append the selection to today's log or MEMORY.md.
--- In a note the server has open it runs the code action's command (`localgpt.assist`), so
--- the entry reads the same either way, with where it came from; elsewhere it sends the text.
---@param lines {line1: integer, line2: integer}|nil the command's range
function M.remember(text, target, lines)
  text = vim.trim(text or '')
  if text == '' then
    vim.notify('LocalGPT: select the text to remember first', vim.log.levels.WARN)
    return
  end
  if target and target ~= '' and target ~= 'daily' and target ~= 'memory' then
    vim.notify(("LocalGPT: remember where? 'daily' (today's log) or 'memory' (MEMORY.md), not '%s'")
      :format(target), vim.log.levels.ERROR)
    return done('remember', { message = 'unknown target ' .. target })
  end
  local command, args = 'localgpt.remember', { text = text }
  if target and target ~= '' then
    args.target = target
  end
  local attached = vim.lsp.get_clients({ name = client_mod.name, bufnr = 0 })[1]
  if lines and attached and attached.initialized then
    command = 'localgpt.assist'
    args = { action = target == 'memory' and 'remember_long' or 'remember',
             uri = vim.uri_from_bufnr(0),
             range = M.selection_range(lines.line1, lines.line2, attached.offset_encoding) }
  end
  client_mod.exec(command, args, function(err, result)
    if err then
      notify_err('could not remember that', err)
      return done('remember', err)
    end
    local where = type(result) == 'table' and (result.file or result.path) or (target or 'daily')
    vim.notify(('LocalGPT: remembered in %s'):format(where), vim.log.levels.INFO)
    done('remember')
  end)
end

local heartbeat_reasons = {
  ['empty-file'] = 'HEARTBEAT.md has no tasks',
  ['no-model'] = 'no model is configured',
  ['outside-active-hours'] = 'outside the active hours',
  ['busy'] = 'another heartbeat is running',
}

--- What a heartbeat result (the `heartbeat once --json` object) tells the user, and its level:
--- the text that reached the user if any (or where it went, when the server already showed it),
--- else the outcome in words. The raw model reply is
--- never shown (it is usually just HEARTBEAT_OK).
function M.heartbeat_summary(result)
  local info = vim.log.levels.INFO
  if type(result) ~= 'table' then
    return 'heartbeat done', info
  end
  if type(result.text) == 'string' and vim.trim(result.text) ~= '' then
    -- A delivered alert already reached the user as the server's window/showMessage: say where
    -- it went instead of showing the same text twice.
    if result.delivered == true then
      local where = type(result.daily_log) == 'string' and (' (also in ' .. result.daily_log .. ')') or ''
      return 'heartbeat alert delivered' .. where, info
    end
    if result.duplicate == true then
      return 'heartbeat: the same alert was already delivered in the last 24 h', info
    end
    return 'heartbeat: ' .. result.text, info
  end
  local outcome = type(result.outcome) == 'string' and result.outcome or ''
  local kind, reason = outcome:match('^([^:]+):(.*)$')
  kind = kind or outcome
  if kind == 'ok' then
    return 'heartbeat OK: nothing needs attention', info
  elseif kind == 'skipped' then
    return 'heartbeat skipped: ' .. (heartbeat_reasons[reason] or reason or '?'), info
  elseif kind == 'failed' then
    return 'heartbeat failed: ' .. (reason or '?'), vim.log.levels.ERROR
  end
  return 'heartbeat ' .. (outcome ~= '' and outcome or 'done'), info
end

--- :LocalGPTHeartbeat: run the heartbeat once now.
function M.heartbeat()
  vim.notify('LocalGPT: running the heartbeat…', vim.log.levels.INFO)
  client_mod.exec('localgpt.heartbeatRun', {}, function(err, result)
    if err then
      notify_err('heartbeat failed', err)
      return done('heartbeat', err)
    end
    local text, level = M.heartbeat_summary(result)
    vim.notify('LocalGPT: ' .. text, level)
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

--- :LocalGPTChatDoc: today's chat document, chats/YYYY-MM-DD.md, which the server creates and
--- shows. Write under the last `## You` and pick "Send to LocalGPT" from vim.lsp.buf.code_action().
function M.chat_document()
  client_mod.exec('localgpt.openChatDocument', {}, function(err)
    if err then
      notify_err('could not open the chat document', err)
    end
    done('chatdoc', err)
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

--- :LocalGPTRestart: stop the server and start it again for the buffers it served (Neovim
--- 0.11 has no built-in restart). The new client attaches through the same vim.lsp.enable
--- FileType rule, so it gets the current config (e.g. a changed cmd).
function M.restart()
  local clients = vim.lsp.get_clients({ name = client_mod.name })
  local buffers = {}
  for _, client in ipairs(clients) do
    for buf in pairs(client.attached_buffers) do
      buffers[buf] = true
    end
    client:stop()
  end
  local old = {}
  for _, c in ipairs(clients) do
    old[c.id] = c
  end
  local waited = 0
  local function again()
    -- Wait until Neovim has removed the old clients: a stopped client that is still listed
    -- would be found (and reused) instead of a new one.
    local alive = vim.tbl_filter(function(c)
      return old[c.id] ~= nil
    end, vim.lsp.get_clients({ name = client_mod.name, _uninitialized = true }))
    if #alive > 0 and waited < 5000 then
      waited = waited + 50
      return vim.defer_fn(again, 50)
    end
    for _, c in ipairs(alive) do
      c:stop(true) -- did not exit on shutdown: force it
    end
    for buf in pairs(buffers) do
      if vim.api.nvim_buf_is_valid(buf) then
        vim.api.nvim_exec_autocmds('FileType', { buffer = buf, modeline = false })
      end
    end
    done('restart')
  end
  vim.defer_fn(again, 50)
end

return M
