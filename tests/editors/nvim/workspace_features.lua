-- Drives the plugin and server like a user would in notes.md of the test workspace.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))
local buf = vim.api.nvim_get_current_buf()

H.attach(buf)

H.step('status', function()
  -- The server reports its state with localgpt/status; the plugin keeps the last one.
  H.wait(20000, function()
    local s = require('localgpt').status()
    return s ~= nil and s.state ~= 'starting' and s.state ~= 'indexing'
  end, 'a settled localgpt/status')
  return { status = require('localgpt').status(), statusline = require('localgpt').statusline() }
end)

H.step('completion', function()
  -- Type a wiki link opening on a new line, as a user would; didChange carries it over.
  local last = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, last, last, false, { 'Water the [[gard' })
  local line = last + 1
  local params = H.position(buf, line, #'Water the [[gard')
  local result = H.request(buf, 'textDocument/completion', params)
  local items = result and (result.items or result) or {}
  local labels = {}
  for _, item in ipairs(items) do
    table.insert(labels, item.label)
  end
  -- Undo the typing so the following steps see the file as written.
  vim.api.nvim_buf_set_lines(buf, last, last + 1, false, {})
  return { labels = labels }
end)

H.step('hover', function()
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  for i, text in ipairs(lines) do
    local col = text:find('[[gardening]]', 1, true)
    if col then
      local result = H.request(buf, 'textDocument/hover', H.position(buf, i, col + 3))
      local contents = result and result.contents or {}
      local value = type(contents) == 'table' and (contents.value or vim.inspect(contents)) or tostring(contents)
      return { value = value }
    end
  end
  error('no [[gardening]] link in notes.md')
end)

H.step('diagnostics', function()
  H.wait(10000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 'diagnostics for notes.md')
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out, { lnum = d.lnum + 1, message = d.message })
  end
  return out
end)

H.step('restart', function()
  local before = H.client(buf).id
  H.command('LocalGPTRestart', 'restart')
  local after = H.client(buf).id
  return { before = before, after = after }
end)

H.step('heartbeat', function()
  return { messages = H.command('LocalGPTHeartbeat', 'heartbeat') }
end)

H.step('remember', function()
  -- Select line 3 linewise as a user would, then remember it.
  vim.api.nvim_set_current_buf(buf)
  vim.cmd('normal! 3GV\27')
  return { messages = H.command("'<,'>LocalGPTRemember", 'remember') }
end)

H.step('search', function()
  local done = nil
  vim.api.nvim_create_autocmd('User', { pattern = 'LocalGPTSearchDone', once = true, callback = function(ev)
    done = ev.data or {}
  end })
  vim.cmd('LocalGPTSearch suckers cherry tomatoes')
  H.wait(20000, function()
    return done ~= nil
  end, ':LocalGPTSearch to finish')
  if done.error then
    error(':LocalGPTSearch failed: ' .. done.error)
  end
  local qf = vim.fn.getqflist({ title = 1, items = 1 })
  local items = {}
  for _, item in ipairs(qf.items) do
    table.insert(items, { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum,
      end_lnum = item.end_lnum, text = item.text })
  end
  local jumped = vim.NIL
  if #items > 0 then
    vim.cmd('cc 1') -- the quickfix jump a user makes
    jumped = { file = vim.api.nvim_buf_get_name(0), line = vim.api.nvim_win_get_cursor(0)[1],
      text = vim.api.nvim_get_current_line() }
  end
  return { title = qf.title, items = items, jumped = jumped }
end)

H.step('today', function()
  H.command('LocalGPTToday', 'today')
  return { file = vim.api.nvim_buf_get_name(0) }
end)

H.finish()
