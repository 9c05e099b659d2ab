-- :LocalGPTSearch from an empty Neovim started in the workspace: the plugin must start the
-- server itself (no markdown buffer attached it) and still jump to the hit.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))

H.step('search', function()
  local data = nil
  vim.api.nvim_create_autocmd('User', { pattern = 'LocalGPTSearchDone', once = true, callback = function(ev)
    data = ev.data or {}
  end })
  vim.cmd('LocalGPTSearch suckers cherry tomatoes')
  H.wait(30000, function()
    return data ~= nil
  end, ':LocalGPTSearch to finish')
  if data.error then
    error(':LocalGPTSearch failed: ' .. data.error)
  end
  local item = vim.fn.getqflist()[1]
  return { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, end_lnum = item.end_lnum }
end)

H.step('attach', function()
  local client = vim.lsp.get_clients({ name = 'localgpt' })[1]
  assert(client, 'no localgpt client was started')
  local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider or {}
  return { root_dir = client.root_dir, commands = provider.commands or {} }
end)

H.finish()
