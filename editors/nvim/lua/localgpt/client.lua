-- Finding (or starting) the LocalGPT client and running its commands.
-- Every server command takes ONE JSON object as its only argument (`arguments = { {...} }`).
local config = require('localgpt.config')

local M = {}

M.name = 'localgpt'

--- The running client: the one attached to the current buffer first, else any.
---@return vim.lsp.Client|nil
function M.get()
  local attached = vim.lsp.get_clients({ name = M.name, bufnr = 0 })
  if attached[1] then
    return attached[1]
  end
  return vim.lsp.get_clients({ name = M.name })[1]
end

local warned_cmd = false

--- Whether `cmd` names a program Neovim can start; warns once (WARN) when it does not, naming
--- the program and the fixes. Without this Neovim only writes it to its LSP log, and notes
--- silently get no features.
---@param cmd string[]|function
---@param env table|nil the cmd_env option
---@return boolean
function M.can_start(cmd, env)
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    return true -- a function (an RPC client): nothing to look up
  end
  if env and env.PATH then
    return true -- looked up on a PATH Neovim does not have
  end
  local program = cmd[1]
  if vim.fn.executable(program) == 1 then
    return true
  end
  if not warned_cmd then
    warned_cmd = true
    local why = program:find('/', 1, true)
      and ("'%s' does not exist or is not executable"):format(program)
      or ("'%s' is not on the PATH Neovim was started with"):format(program)
    local venv = vim.fn.expand('~/.venvs/localgpt/bin/localgpt')
    local hint = vim.fn.executable(venv) == 1 and venv or '/path/to/venv/bin/localgpt'
    vim.notify(('LocalGPT: cannot start the language server: %s, so notes get no LocalGPT '
      .. 'features. Install LocalGPT-LS (editors/nvim/README.md), or give its full path: '
      .. "require('localgpt').setup({ cmd = { '%s', 'lsp' } })"):format(why, hint),
      vim.log.levels.WARN)
  end
  return false
end

local function find_root()
  local opts = config.options
  if opts.workspace then
    return vim.fs.normalize(vim.fn.expand(opts.workspace))
  end
  local here = vim.api.nvim_buf_get_name(0)
  local start = here ~= '' and vim.fs.dirname(here) or vim.uv.cwd()
  local marker = vim.fs.find(config.root_markers, { path = start, upward = true })[1]
  return marker and vim.fs.dirname(marker) or nil
end

--- The client, starting one (without attaching the current buffer) when none runs, so that
--- :LocalGPTSearch and friends work from any buffer. Without a root the server falls back to
--- the workspace in config.toml.
---@return vim.lsp.Client|nil
function M.ensure()
  local client = M.get()
  if client then
    return client
  end
  local base = vim.lsp.config[M.name]
  if not base then
    vim.notify('LocalGPT: no "localgpt" LSP config; call require("localgpt").setup()', vim.log.levels.ERROR)
    return nil
  end
  if not M.can_start(base.cmd, base.cmd_env) then
    return nil
  end
  local cfg = vim.deepcopy(base)
  cfg.root_dir = find_root()
  cfg.workspace_required = false
  local id = vim.lsp.start(cfg, { attach = false, bufnr = 0 })
  return id and vim.lsp.get_client_by_id(id) or nil
end

--- The folder that workspace-relative paths from the server resolve against.
---@param client vim.lsp.Client|nil
---@param result table|nil a command result that may carry `workspace`
---@return string
function M.root(client, result)
  if type(result) == 'table' and type(result.workspace) == 'string' then
    return result.workspace
  end
  if config.options.workspace then
    return vim.fs.normalize(vim.fn.expand(config.options.workspace))
  end
  if client and client.root_dir then
    return client.root_dir
  end
  return find_root() or vim.uv.cwd()
end

--- Resolve a path from the server to an absolute file name.
function M.abspath(root, file)
  if file:sub(1, 1) == '/' or file:match('^%a:[/\\]') then
    return file
  end
  return vim.fs.joinpath(root, file)
end

--- Human-readable text of an LSP error.
function M.errmsg(err)
  if type(err) == 'table' then
    return err.message or vim.inspect(err)
  end
  return tostring(err)
end

--- Run `command` with `args` on the server; `on_done(err, result, client)` runs on the main loop.
--- Returns the client and the request id (for cancel_request), or nil when no server runs.
---@param command string
---@param args table
---@param on_done fun(err: any, result: any, client: vim.lsp.Client|nil)
---@param on_sent fun(client: vim.lsp.Client, request_id: integer)|nil called once the request is out
function M.exec(command, args, on_done, on_sent)
  local client = M.ensure()
  if not client then
    on_done({ message = 'the LocalGPT language server is not running (is `localgpt` installed?)' }, nil, nil)
    return nil, nil
  end
  if not client.initialized then
    -- A client started just now: requests must wait for the initialize handshake.
    local waited = 0
    local function retry()
      if client:is_stopped() then
        on_done({ message = 'the LocalGPT language server exited while starting' }, nil, client)
      elseif client.initialized then
        M.exec(command, args, on_done, on_sent)
      elseif waited > 60000 then
        on_done({ message = 'the LocalGPT language server did not start within 60 s' }, nil, client)
      else
        waited = waited + 50
        vim.defer_fn(retry, 50)
      end
    end
    vim.defer_fn(retry, 50)
    return client, nil
  end
  -- vim.empty_dict(): an empty Lua table would be sent as [] but the contract is an object.
  local arg = next(args) == nil and vim.empty_dict() or args
  local ok, id = client:request('workspace/executeCommand', { command = command, arguments = { arg } },
    function(err, result)
      on_done(err, result, client)
    end, 0)
  if not ok then
    on_done({ message = 'the LocalGPT language server has stopped' }, nil, client)
    return client, nil
  end
  if on_sent then
    on_sent(client, id)
  end
  return client, id
end

return M
