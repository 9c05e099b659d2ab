-- The chat buffer against a loopback provider, as a user drives it: :LocalGPTChat opens it, the
-- question is typed under "## You" and <CR> in normal mode sends it; then :LocalGPTAsk and
-- :LocalGPTChat {message} follow up in the same buffer. Records what the buffer showed.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))
local notes = vim.api.nvim_get_current_buf()

H.attach(notes)

local chat = require('localgpt.chat')
local deltas = {}
local on_delta = chat.on_delta
-- The handler in lsp/localgpt.lua looks on_delta up at every call, so this sees each delta.
chat.on_delta = function(err, params, ...)
  table.insert(deltas, type(params) == 'table' and params.text or vim.NIL)
  return on_delta(err, params, ...)
end

-- Every state of the chat buffer, as the user saw it change (each delta is one change).
local seen = {}
local watched = {}
local function watch(buf)
  if watched[buf] then
    return
  end
  watched[buf] = true
  vim.api.nvim_buf_attach(buf, false, {
    on_lines = function(_, b)
      table.insert(seen, table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n'))
    end,
  })
end

--- Run `start` (which sends a message) and wait for the reply to finish; what the buffer holds.
local function exchange(start)
  local done = false
  vim.api.nvim_create_autocmd('User', { pattern = 'LocalGPTChatDone', once = true, callback = function()
    done = true
  end })
  deltas, seen = {}, {}
  start()
  H.wait(30000, function()
    return done
  end, 'the chat reply to finish')
  local state = chat.state()
  return {
    lines = vim.api.nvim_buf_get_lines(state.buf, 0, -1, false),
    deltas = deltas,
    seen = seen,
    session_id = state.session_id or vim.NIL,
    buftype = vim.bo[state.buf].buftype,
    cursor = vim.api.nvim_win_get_cursor(0)[1],
    line_count = vim.api.nvim_buf_line_count(state.buf),
  }
end

-- Typing needs the main loop (see H.async).
H.async(function()
  H.step('open', function()
    vim.cmd('LocalGPTChat')
    local buf = vim.api.nvim_get_current_buf()
    watch(buf)
    return {
      is_chat = buf == chat.state().buf,
      windows = #vim.api.nvim_tabpage_list_wins(0),
      name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t'),
      filetype = vim.bo[buf].filetype,
      buftype = vim.bo[buf].buftype,
      lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
      cursor = vim.api.nvim_win_get_cursor(0)[1],
    }
  end)

  H.step('first', function()
    return exchange(function()
      H.feed('iWhat should I do with the tomatoes?<Esc><CR>')
    end)
  end)

  H.step('second', function()
    return exchange(function()
      vim.cmd('LocalGPTAsk And the basil?')
    end)
  end)

  H.step('third', function()
    return exchange(function()
      vim.cmd('LocalGPTChat Anything for Sunday?')
    end)
  end)
end)
