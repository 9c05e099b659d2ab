-- The default cmd, `localgpt`, is not on Neovim's PATH: opening two workspace notes warns once.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))

H.step('opened', function()
  vim.wait(1500) -- time for a client to start, were one to
  vim.cmd.edit(vim.fs.joinpath(os.getenv('LOCALGPT_WORKSPACE'), 'knowledge', 'gardening.md'))
  vim.wait(1500)
  return { clients = #vim.lsp.get_clients({ name = 'localgpt', _uninitialized = true }),
           messages = _G.notified }
end)

H.finish()
