-- :LocalGPTAsk twice in one chat buffer against a loopback provider; records what streamed in.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))
local buf = vim.api.nvim_get_current_buf()

H.attach(buf)

local chat = require('localgpt.chat')
local deltas = {}
local on_delta = chat.on_delta
-- The handler in lsp/localgpt.lua looks on_delta up at every call, so this sees each delta.
chat.on_delta = function(err, params, ...)
  table.insert(deltas, type(params) == 'table' and params.text or vim.NIL)
  return on_delta(err, params, ...)
end

local function ask(question)
  local done = false
  vim.api.nvim_create_autocmd('User', { pattern = 'LocalGPTChatDone', once = true, callback = function()
    done = true
  end })
  deltas = {}
  vim.cmd('LocalGPTAsk ' .. question)
  H.wait(30000, function()
    return done
  end, 'the chat reply to finish')
  local state = chat.state()
  return {
    lines = vim.api.nvim_buf_get_lines(state.buf, 0, -1, false),
    deltas = deltas,
    session_id = state.session_id or vim.NIL,
    buftype = vim.bo[state.buf].buftype,
  }
end

H.step('first', function()
  return ask('What should I do with the tomatoes?')
end)

H.step('second', function()
  return ask('And the basil?')
end)

H.finish()
