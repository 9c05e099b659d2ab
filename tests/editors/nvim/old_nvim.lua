-- On a Neovim too old for the plugin (emulated in init.lua), every :LocalGPT* command tells the
-- user why, and none fails with a Lua error.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))

H.step('commands', function()
  -- setup() ran in init.lua, before the harness recorded messages: run it again here.
  local first = #H.messages
  require('localgpt').setup({})
  local setup = (H.messages[first + 1] or {}).msg or ''
  local ran, errors = {}, {}
  for _, ex in ipairs({ 'LocalGPTSearch tomatoes', 'LocalGPTChat', 'LocalGPTAsk hello',
                        'LocalGPTRemember', 'LocalGPTHeartbeat', 'LocalGPTToday',
                        'LocalGPTChatDoc', 'LocalGPTReindex', 'LocalGPTRestart' }) do
    table.insert(ran, ex)
    local ok, err = pcall(vim.cmd, ex)
    if not ok then
      errors[ex] = tostring(err)
    end
  end
  return { setup = setup, ran = ran, errors = vim.tbl_isempty(errors) and vim.empty_dict() or errors,
           messages = vim.list_slice(H.messages, first + 2) }
end)

H.finish()
