-- User commands of the LocalGPT plugin. Modules load on first use, so startup costs nothing.
if vim.g.loaded_localgpt then
  return
end
vim.g.loaded_localgpt = true

-- Every command says so on a Neovim too old for the plugin (setup() does too) instead of
-- failing inside it with a Lua traceback.
local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(o)
    local too_old = require('localgpt.config').too_old()
    if too_old then
      vim.notify(too_old, vim.log.levels.ERROR)
      return
    end
    fn(o)
  end, opts)
end

cmd('LocalGPTChat', function(o)
  if o.args ~= '' then
    require('localgpt.chat').ask(o.args)
  else
    require('localgpt.chat').open()
  end
end, { nargs = '*', desc = 'LocalGPT: open the chat buffer (optionally sending a message)' })

cmd('LocalGPTAsk', function(o)
  require('localgpt.chat').ask(o.args)
end, { nargs = '+', desc = 'LocalGPT: ask a question; the answer streams into the chat buffer' })

cmd('LocalGPTSearch', function(o)
  require('localgpt.commands').search(o.args, o.bang and 'select' or nil)
end, { nargs = '*', bang = true, desc = 'LocalGPT: search memory into the quickfix list (! picks with vim.ui.select)' })

cmd('LocalGPTRemember', function(o)
  local commands = require('localgpt.commands')
  commands.remember(commands.range_text(o.line1, o.line2), o.args, { line1 = o.line1, line2 = o.line2 })
end, {
  nargs = '?',
  range = true,
  complete = function()
    return { 'daily', 'memory' }
  end,
  desc = "LocalGPT: remember the selected lines (in today's log, or 'memory' for MEMORY.md)",
})

cmd('LocalGPTHeartbeat', function()
  require('localgpt.commands').heartbeat()
end, { desc = 'LocalGPT: run the heartbeat now' })

cmd('LocalGPTToday', function()
  require('localgpt.commands').today()
end, { desc = "LocalGPT: open today's log (memory/YYYY-MM-DD.md)" })

cmd('LocalGPTChatDoc', function()
  require('localgpt.commands').chat_document()
end, { desc = "LocalGPT: open today's chat document (chats/YYYY-MM-DD.md)" })

cmd('LocalGPTReindex', function(o)
  require('localgpt.commands').reindex(o.bang)
end, { bang = true, desc = 'LocalGPT: update the memory index (! rebuilds it)' })

cmd('LocalGPTRestart', function()
  require('localgpt.commands').restart()
end, { desc = 'LocalGPT: restart the language server' })
