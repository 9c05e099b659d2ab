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

local memory_file = vim.fs.joinpath(os.getenv('LOCALGPT_WORKSPACE'), 'MEMORY.md')

local function memory_lines() -- the file's non-blank lines
  return vim.tbl_filter(function(line)
    return line ~= ''
  end, vim.fn.readfile(memory_file))
end

H.step('remember_memory', function()
  -- Line 4 with the command, then line 3 with the code action: both into MEMORY.md.
  vim.api.nvim_set_current_buf(buf)
  vim.cmd('normal! 4GV\27')
  H.command("'<,'>LocalGPTRemember memory", 'remember')
  local after_command = memory_lines()
  vim.lsp.buf.code_action({
    apply = true,
    range = { start = { 3, 0 }, ['end'] = { 3, 33 } },
    filter = function(action)
      return action.title == 'Remember this in MEMORY.md'
    end,
  })
  H.wait(20000, function()
    return #memory_lines() > #after_command
  end, 'the code action to write MEMORY.md')
  -- A charwise selection: just that text ("[[gardening]]" on line 3, UTF-16 columns).
  vim.cmd('normal! 3G0f[v2f]\27')
  H.command("'<,'>LocalGPTRemember memory", 'remember')
  local charwise = memory_lines()
  return { command = after_command[#after_command], action = charwise[#charwise - 1],
           charwise = charwise[#charwise] }
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

-- Last, since it types into notes.md: completion as a user gets it, in insert mode with
-- <C-x><C-o> (the omnifunc Neovim sets for an LSP client), <C-n> to the pick, <C-y> to take it.
H.async(function()
  H.step('completion', function()
    vim.api.nvim_set_current_buf(buf)
    H.client(buf) -- the client :LocalGPTRestart started
    local omnifunc = vim.bo[buf].omnifunc
    H.feed('GoWater the [[gard<C-x><C-o>')
    -- The server answers asynchronously; one match is inserted at once, several open the menu.
    H.wait(10000, function()
      return #(vim.fn.complete_info({ 'items' }).items or {}) > 0
    end, 'completion items after <C-x><C-o>')
    local items = vim.fn.complete_info({ 'items' }).items
    local labels, pick = {}, nil
    for i, item in ipairs(items) do
      local label = item.abbr ~= '' and item.abbr or item.word
      table.insert(labels, label)
      if pick == nil and label == 'gardening' then
        pick = i - 1 -- complete_info's 'selected' is 0-based
      end
    end
    if pick == nil then
      error('no "gardening" in the completion menu: ' .. vim.inspect(labels))
    end
    local menu = vim.fn.pumvisible() == 1
    if menu then
      while vim.fn.complete_info({ 'selected' }).selected ~= pick do
        local before = vim.fn.complete_info({ 'selected' }).selected
        H.feed('<C-n>')
        H.wait(2000, function()
          return vim.fn.complete_info({ 'selected' }).selected ~= before
        end, '<C-n> to move in the menu')
      end
      H.feed('<C-y>')
    end
    -- (Without a menu, <C-y> would copy the character above: the match is already in.)
    H.feed('<Esc>')
    H.wait(5000, function()
      return vim.fn.mode() == 'n'
    end, 'normal mode after <Esc>')
    return { labels = labels, line = vim.api.nvim_get_current_line(), omnifunc = omnifunc,
      menu = menu }
  end)
end)
