-- Markdown outside a LocalGPT workspace gets no client, even on a Neovim that ignores
-- workspace_required (0.11.0, emulated here by turning it off); a note inside still does.
local H = dofile(os.getenv('LOCALGPT_TEST_HARNESS'))

vim.lsp.config('localgpt', { workspace_required = false })

local function clients(buf)
  return #vim.lsp.get_clients({ name = 'localgpt', bufnr = buf, _uninitialized = true })
end

H.step('outside', function()
  local dir = vim.fs.joinpath(vim.fs.dirname(os.getenv('LOCALGPT_WORKSPACE')), 'elsewhere')
  vim.fn.mkdir(dir, 'p')
  local readme = vim.fs.joinpath(dir, 'README.md')
  vim.fn.writefile({ '# Some project', '', 'Not memory.' }, readme)
  vim.cmd.edit(readme)
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(1000) -- time for a client to start, were one to
  return { filetype = vim.bo[buf].filetype, clients = clients(buf), any = clients(nil) }
end)

H.step('inside', function()
  vim.cmd.edit(vim.fs.joinpath(os.getenv('LOCALGPT_WORKSPACE'), 'notes.md'))
  local client = H.client(vim.api.nvim_get_current_buf())
  return { root_dir = client.root_dir }
end)

H.finish()
