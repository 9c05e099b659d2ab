-- The plugin's defaults as a new user gets them, in plan.md of a workspace under
-- ~/.localgpt: buffer-local keys, `gd` on a link, a note made outside Neovim clearing its
-- warning, Create note from the code actions, and `[[` completion popping up while typing.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))
local buf = vim.api.nvim_get_current_buf()
local plan = vim.api.nvim_buf_get_name(buf)

H.attach(buf)

local function line_of(text)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = l:find(text, 1, true)
    if col then
      return i, col - 1
    end
  end
  error('no ' .. text .. ' in plan.md')
end

local function messages(target)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(target)) do
    table.insert(out, d.message)
  end
  return out
end

local function has_message(target, text)
  for _, m in ipairs(messages(target)) do
    if m:find(text, 1, true) then
      return true
    end
  end
  return false
end

H.step('keymaps', function()
  H.client(buf)
  local out = {}
  for _, lhs in ipairs({ 'gd', 'K', 'gr', '<leader>ca' }) do
    local map = vim.fn.maparg(lhs, 'n', false, true)
    out[lhs] = { buffer = map.buffer == 1, desc = map.desc or '' }
  end
  out.visual_code_action = vim.fn.maparg('<leader>ca', 'x', false, true).buffer == 1
  return out
end)

H.step('outside', function()
  H.wait(15000, function()
    return has_message(buf, "'balcony-shade'")
  end, 'the balcony-shade warning')
  -- Written by another program, as a shell or the CLI would: not through a buffer.
  local root = H.client(buf).root_dir
  local started = vim.uv.hrtime()
  local f = assert(io.open(root .. '/knowledge/balcony-shade.md', 'w'))
  f:write('# Balcony shade\n\nThe shop sells shade cloth by the metre.\n')
  f:close()
  H.wait(10000, function()
    return not has_message(buf, "'balcony-shade'")
  end, 'the warning to go once the note exists')
  return { ms = math.floor((vim.uv.hrtime() - started) / 1e6), left = messages(buf) }
end)

H.async(function()
  H.step('gd', function()
    vim.api.nvim_set_current_buf(buf)
    local row, col = line_of('[[gardening]]')
    vim.api.nvim_win_set_cursor(0, { row, col + 3 })
    H.feed('gd')
    H.wait(10000, function()
      return vim.api.nvim_buf_get_name(0):find('knowledge/gardening.md', 1, true) ~= nil
    end, 'gd to open the linked note')
    local landed = { file = vim.api.nvim_buf_get_name(0), line = vim.api.nvim_win_get_cursor(0)[1] }
    vim.api.nvim_set_current_buf(buf)
    return landed
  end)

  H.step('create_note', function()
    vim.api.nvim_set_current_buf(buf)
    local row, col = line_of('[[howto/incident-template]]')
    vim.api.nvim_win_set_cursor(0, { row, col + 4 })
    -- The plugin's <leader>ca, then a pick in the menu (vim.ui.select, answered here).
    local titles = {}
    local select = vim.ui.select
    vim.ui.select = function(items, opts, on_choice)
      for i, item in ipairs(items) do
        local title = opts.format_item and opts.format_item(item) or tostring(item)
        table.insert(titles, title)
        if title:find('Create note', 1, true) and not title:find('from', 1, true) then
          vim.ui.select = select
          return on_choice(item, i)
        end
      end
      vim.ui.select = select
      on_choice(nil, nil)
    end
    H.feed('<leader>ca')
    H.wait(10000, function()
      return vim.api.nvim_buf_get_name(0):find('incident-template.md', 1, true) ~= nil
    end, 'Create note to open the new note; offered: ' .. vim.inspect(titles))
    local created = vim.api.nvim_buf_get_name(0)
    local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    vim.cmd('write')
    vim.api.nvim_set_current_buf(buf)
    H.wait(10000, function()
      return not has_message(buf, 'incident-template')
    end, 'the warning to go once the note is created')
    return { file = created, lines = lines, titles = titles }
  end)

  H.step('completion', function()
    vim.api.nvim_set_current_buf(buf)
    H.feed('GoThen [[')
    H.wait(10000, function()
      return vim.fn.pumvisible() == 1 and #(vim.fn.complete_info({ 'items' }).items or {}) > 0
    end, 'the completion popup after typing [[ (no <C-x><C-o>)')
    local first = {}
    for _, item in ipairs(vim.fn.complete_info({ 'items' }).items) do
      table.insert(first, item.abbr ~= '' and item.abbr or item.word)
    end
    H.feed('gard')
    H.wait(10000, function()
      local items = vim.fn.complete_info({ 'items' }).items or {}
      return vim.fn.pumvisible() == 1 and #items > 0 and (items[1].abbr == 'gardening' or items[1].word == 'gardening')
    end, function()
      return 'the popup to narrow to gardening; line ' .. vim.api.nvim_get_current_line()
        .. ' first ' .. vim.inspect(first) .. ' now '
        .. vim.inspect(vim.tbl_map(function(i) return i.abbr end,
          vim.fn.complete_info({ 'items' }).items or {}))
        .. ' pum ' .. vim.fn.pumvisible() .. ' completeopt ' .. vim.o.completeopt
    end)
    H.feed('<C-n><C-y><Esc>')
    H.wait(5000, function()
      return vim.fn.mode() == 'n'
    end, 'normal mode after <Esc>')
    return { first = first, line = vim.api.nvim_get_current_line(),
      completeopt = vim.o.completeopt }
  end)
end)
