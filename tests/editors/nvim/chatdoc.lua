-- A chat document and a code action in real Neovim: "Send to LocalGPT" streams the reply into
-- chats/garden.md through the edits Neovim applies itself, and "Rewrite with LocalGPT" on a
-- selection replaces it (Neovim resolves the action with codeAction/resolve first).
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))
local buf = vim.api.nvim_get_current_buf()

H.attach(buf)

--- Titles of the code actions offered at the cursor (line 1-based).
local function titles(line)
  local params = H.position(buf, line, 0)
  params.range = { start = params.position, ['end'] = params.position }
  params.context = { diagnostics = {} }
  local out = {}
  for _, action in ipairs(H.request(buf, 'textDocument/codeAction', params) or {}) do
    table.insert(out, action.title)
  end
  return out
end

-- Count the buffer changes the reply arrives in (one per applied edit).
local changes = 0
vim.api.nvim_buf_attach(buf, false, { on_lines = function()
  changes = changes + 1
end })

H.step('send', function()
  local offered = titles(3)
  local before = changes
  vim.lsp.buf.code_action({ apply = true, filter = function(action)
    return action.title == 'Send to LocalGPT'
  end })
  local ok = vim.wait(30000, function()
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    return #lines >= 2 and lines[#lines - 1] == '## You' and
      vim.tbl_contains(lines, '## LocalGPT')
  end, 20)
  if not ok then
    error('no reply: ' .. vim.inspect(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) ..
      vim.inspect(H.messages))
  end
  return {
    offered = offered,
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
    edits = changes - before,
    modified = vim.bo[buf].modified,
  }
end)

H.step('rewrite', function()
  vim.cmd.edit('notes.md')
  local notes = vim.api.nvim_get_current_buf()
  H.client(notes)
  -- Select "Today I read [[gardening]] again." (line 3) and ask for the rewrite.
  vim.lsp.buf.code_action({
    apply = true,
    range = { start = { 3, 0 }, ['end'] = { 3, 33 } },
    filter = function(action)
      return action.title == 'Rewrite with LocalGPT'
    end,
  })
  H.wait(30000, function()
    return vim.api.nvim_buf_get_lines(notes, 2, 3, false)[1] ~= 'Today I read [[gardening]] again.'
  end, 'the rewrite to land')
  return { lines = vim.api.nvim_buf_get_lines(notes, 0, -1, false) }
end)

H.step('open_today', function()
  H.command('LocalGPTChatDoc', 'chatdoc')
  H.wait(10000, function()
    return vim.api.nvim_buf_get_name(0):match('chats/%d+%-%d+%-%d+%.md$') ~= nil
  end, "today's chat document to be shown")
  return { name = vim.api.nvim_buf_get_name(0), lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) }
end)

H.finish()
