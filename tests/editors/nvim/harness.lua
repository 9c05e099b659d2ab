-- Test harness for the headless Neovim end-to-end tests: each step runs protected, its value or
-- error lands in a JSON file the pytest side reads, and the editor always quits.
local H = { results = {} }

H.out = assert(os.getenv('LOCALGPT_TEST_OUT'), 'LOCALGPT_TEST_OUT is not set')

-- Every vim.notify the plugin makes, as the user would have seen it.
H.messages = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(H.messages, { msg = msg, level = level or vim.log.levels.INFO })
  return notify(msg, level, opts)
end

--- Run an Ex command and wait for its `User LocalGPTCommandDone`; raises on a command error.
function H.command(ex, name, ms)
  local data = nil
  vim.api.nvim_create_autocmd('User', { pattern = 'LocalGPTCommandDone', callback = function(ev)
    if ev.data and ev.data.command == name then
      data = ev.data
      return true -- delete this autocmd
    end
  end })
  local first = #H.messages + 1
  vim.cmd(ex)
  H.wait(ms or 20000, function()
    return data ~= nil
  end, ex .. ' to finish')
  if data.error then
    error(ex .. ' failed: ' .. data.error)
  end
  return vim.list_slice(H.messages, first)
end

--- Run one named step; a failure is recorded (with traceback) and the next step still runs.
function H.step(name, fn)
  local ok, value = xpcall(fn, debug.traceback)
  if ok then
    H.results[name] = { ok = true, value = value == nil and vim.NIL or value }
  else
    H.results[name] = { ok = false, error = tostring(value) }
  end
end

--- Wait until cond() holds; raises with a message saying what never happened. Inside H.async
--- it yields to Neovim's main loop between checks, so keys fed with H.feed are processed
--- meanwhile (vim.wait runs callbacks and timers but never reads typeahead).
function H.wait(ms, cond, what)
  local co = coroutine.running()
  local describe = what
  if type(what) == 'function' then
    what = nil
  end
  if co == nil then
    if not vim.wait(ms, cond, 20) then
      error(('timed out after %d ms waiting for %s'):format(ms, what), 2)
    end
    return
  end
  local deadline = vim.uv.hrtime() + ms * 1e6
  while not cond() do
    if vim.uv.hrtime() > deadline then
      -- a function describes the state at the time of failure, not when the wait began
      what = what or describe()
      error(('timed out after %d ms waiting for %s'):format(ms, what), 2)
    end
    vim.defer_fn(function()
      coroutine.resume(co)
    end, 20)
    coroutine.yield()
  end
end

--- Type `keys` (with <CR>, <C-x> and such) as the user would: mappings apply, and they run once
--- the script yields to the main loop, so call H.wait after it (in H.async only).
function H.feed(keys)
  assert(coroutine.running(), 'H.feed needs H.async: typed keys run on the main loop')
  vim.api.nvim_feedkeys(vim.keycode(keys), 'mt', false)
end

--- Run `fn` (steps that type keys) on the main loop as a coroutine, then H.finish(). The
--- script file returns right after calling this, which lets Neovim read the typed keys.
function H.async(fn)
  vim.schedule(function()
    coroutine.wrap(function()
      local ok, err = xpcall(fn, debug.traceback)
      if not ok then
        H.results.async = { ok = false, error = tostring(err) }
      end
      H.finish()
    end)()
  end)
end

--- The localgpt client attached to buffer `buf`, once it has finished initializing.
function H.client(buf, ms)
  local client
  H.wait(ms or 30000, function()
    client = vim.lsp.get_clients({ name = 'localgpt', bufnr = buf })[1]
    return client ~= nil and client.initialized == true
  end, 'the localgpt client to attach and initialize')
  return client
end

--- A request from the given buffer through Neovim's own LSP client; returns the result.
function H.request(buf, method, params, ms)
  local responses = vim.lsp.buf_request_sync(buf, method, params, ms or 10000)
  assert(responses, method .. ': no response (timeout)')
  for _, response in pairs(responses) do
    if response.error then
      error(method .. ': ' .. vim.inspect(response.error))
    end
    return response.result
  end
  error(method .. ': no client answered')
end

--- Position params for the cursor put at (line 1-based, col 0-based byte).
function H.position(buf, line, col)
  local win = vim.fn.bufwinid(buf)
  vim.api.nvim_win_set_cursor(win, { line, col })
  return vim.lsp.util.make_position_params(win, 'utf-16')
end

--- The step every scenario starts with: wait for the client on `buf`, record its root, name and
--- the commands the server offers.
function H.attach(buf)
  H.step('attach', function()
    local client = H.client(buf)
    local provider = client.server_capabilities.executeCommandProvider or {}
    return { root_dir = client.root_dir, name = client.name, commands = provider.commands or {} }
  end)
end

function H.finish()
  local f = assert(io.open(H.out, 'w'))
  f:write(vim.json.encode(H.results))
  f:close()
  vim.cmd('qa!')
end

return H
