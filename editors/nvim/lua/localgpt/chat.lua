-- :LocalGPTChat: a scratch markdown buffer holding the conversation as `## You` / `## LocalGPT`
-- sections (the same shape as the server's chat documents). <CR> in normal mode sends what is
-- under the last `## You`; the reply streams in from `localgpt/chatDelta` notifications and is
-- replaced by the final `localgpt.chat` response when it arrives, so a lost delta can never
-- leave a wrong answer. The buffer is read-only while a reply streams; <C-c> stops it.
local client_mod = require('localgpt.client')
local config = require('localgpt.config')

local M = {}

local YOU = '## You'
local BOT = '## LocalGPT'

---@class localgpt.ChatState
---@field buf integer|nil
---@field session_id string|nil
---@field pending {turn: integer, client: vim.lsp.Client|nil, id: integer|nil, start: integer, text: string}|nil
local state = { buf = nil, session_id = nil, pending = nil }
local turn_counter = 0

local function valid_buf()
  return state.buf and vim.api.nvim_buf_is_valid(state.buf)
end

local function set_lines(start, stop, lines)
  local buf = state.buf
  local was = vim.bo[buf].modifiable
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, start, stop, false, lines)
  vim.bo[buf].modifiable = was
end

local function scroll_to_end()
  for _, win in ipairs(vim.fn.win_findbuf(state.buf)) do
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(state.buf), 0 })
  end
end

local function render(text)
  set_lines(state.pending.start, -1, vim.split(text, '\n', { plain = true }))
  scroll_to_end()
end

local function create_buf()
  local buf = vim.api.nvim_create_buf(false, true) -- scratch: buftype=nofile, so no LSP attaches
  vim.api.nvim_buf_set_name(buf, 'LocalGPT Chat')
  vim.bo[buf].filetype = 'markdown'
  vim.bo[buf].bufhidden = 'hide'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    '# LocalGPT chat',
    '',
    '<!-- Write under "## You"; <CR> in normal mode sends, <C-c> stops a reply. -->',
    '',
    YOU,
    '',
  })
  local map = function(mode, lhs, fn, desc)
    vim.keymap.set(mode, lhs, fn, { buffer = buf, desc = desc, silent = true })
  end
  map('n', '<CR>', M.send, 'LocalGPT: send')
  map({ 'n', 'i' }, '<C-s>', function()
    vim.cmd.stopinsert()
    M.send()
  end, 'LocalGPT: send')
  map('n', '<C-c>', M.stop, 'LocalGPT: stop the reply')
  return buf
end

--- Open (or focus) the chat buffer; returns its number.
function M.open()
  if not valid_buf() then
    state.buf = create_buf()
    state.session_id = nil
  end
  local wins = vim.fn.win_findbuf(state.buf)
  if wins[1] then
    vim.api.nvim_set_current_win(wins[1])
  else
    local split = config.options.chat_split
    if split == 'tab' then
      vim.cmd.tabnew()
    elseif split == 'split' then
      vim.cmd.split()
    else
      vim.cmd.vsplit()
    end
    vim.api.nvim_win_set_buf(0, state.buf)
  end
  scroll_to_end()
  return state.buf
end

--- The message under the last `## You` heading, and that heading's line index (0-based).
local function last_question()
  local lines = vim.api.nvim_buf_get_lines(state.buf, 0, -1, false)
  for i = #lines, 1, -1 do
    if lines[i] == YOU then
      local body = table.concat(vim.list_slice(lines, i + 1), '\n')
      return vim.trim(body), i - 1
    end
  end
  return '', nil
end

local function finish(text)
  render(text)
  vim.bo[state.buf].modifiable = true
  set_lines(-1, -1, { '', YOU, '' })
  state.pending = nil
  scroll_to_end()
  vim.api.nvim_exec_autocmds('User', { pattern = 'LocalGPTChatDone', modeline = false })
end

--- Send the text under the last `## You` heading.
function M.send()
  if not valid_buf() then
    M.open()
  end
  if state.pending then
    vim.notify('LocalGPT: a reply is still streaming (<C-c> stops it)', vim.log.levels.WARN)
    return
  end
  local message = last_question()
  if message == '' then
    vim.notify('LocalGPT: write your message under the last "## You" first', vim.log.levels.WARN)
    return
  end
  -- Trim trailing blank lines so the transcript stays tidy, then open the reply section.
  local lines = vim.api.nvim_buf_get_lines(state.buf, 0, -1, false)
  local last = #lines
  while last > 0 and vim.trim(lines[last]) == '' do
    last = last - 1
  end
  set_lines(last, -1, { '', BOT, '' })
  turn_counter = turn_counter + 1
  local turn = turn_counter
  state.pending = { turn = turn, start = last + 2, text = '' }
  render('…')
  vim.bo[state.buf].modifiable = false

  local args = { message = message }
  if state.session_id then
    args.session_id = state.session_id
  end
  client_mod.exec('localgpt.chat', args, function(err, result)
    if not state.pending or state.pending.turn ~= turn then
      return -- stopped or superseded; its ending was already written
    end
    if err then
      finish(('**Error:** %s'):format(client_mod.errmsg(err)))
    else
      result = result or {}
      state.session_id = result.session_id or state.session_id
      finish(result.response or state.pending.text)
    end
  end, function(client, id)
    if state.pending and state.pending.turn == turn then
      state.pending.client, state.pending.id = client, id
    end
  end)

  local timeout = config.options.chat_timeout or 0
  if timeout > 0 then
    vim.defer_fn(function()
      if state.pending and state.pending.turn == turn then
        M.stop(('no reply within %d s'):format(timeout))
      end
    end, timeout * 1000)
  end
end

--- Stop the reply that is streaming ($/cancelRequest stops the provider stream on the server).
function M.stop(reason)
  local p = state.pending
  if not p then
    return
  end
  if p.client and p.id then
    p.client:cancel_request(p.id)
  end
  local text = p.text ~= '' and (p.text .. '\n\n') or ''
  finish(text .. ('_(stopped%s)_'):format(type(reason) == 'string' and (': ' .. reason) or ''))
end

--- Handler for `localgpt/chatDelta` {session_id?, text}: append to the reply being streamed.
function M.on_delta(_, params)
  local p = state.pending
  if not p or not valid_buf() or type(params) ~= 'table' or type(params.text) ~= 'string' then
    return
  end
  -- Deltas of another session (another chat on the same server) are not ours.
  if state.session_id and params.session_id and params.session_id ~= state.session_id then
    return
  end
  p.text = p.text .. params.text
  render(p.text)
end

--- :LocalGPTAsk {q}: open the chat, put the question under `## You` and send it.
function M.ask(question)
  M.open()
  if state.pending then
    vim.notify('LocalGPT: a reply is still streaming (<C-c> stops it)', vim.log.levels.WARN)
    return
  end
  local _, you = last_question()
  if not you then
    set_lines(-1, -1, { '', YOU, '' })
    _, you = last_question()
  end
  set_lines(you + 1, -1, vim.split(question, '\n', { plain = true }))
  M.send()
end

--- For tests and statuslines: the chat buffer, its session and whether a reply streams.
function M.state()
  return { buf = state.buf, session_id = state.session_id, streaming = state.pending ~= nil }
end

return M
