-- Neovim's built-in LSP client (0.7+) against the real language server, as an
-- editor user would drive it. Run by test/neovim/neovim.test.ts:
--
--   nvim --headless --clean -u NONE -n -c 'luafile test/neovim/quickfix.lua'
--
-- with, in the environment:
--   CD_NODE, CD_SERVER      the node binary and out/server.js (started with --stdio)
--   CD_SIM_URL, CD_SIM_TOKEN  a running simulator (quickwit-dangling-shards)
--   CD_WORK                 a scratch folder: the snapshot file and report.json go there
--   CD_DEADLINE_MS          how long each wait may take
--
-- Steps: start the client; connect the cluster with the server's custom request
-- `clusterDebugger/connect`; wait for the live diagnostics on
-- cluster://sim/sim.shards.clustersnap; save a snapshot file, open it and wait for
-- its offline diagnostics (their quick fixes are disabled, and this client does
-- not declare disabledSupport, so it must be offered none); open the cluster
-- document, put the cursor on the diagnostic and run `vim.lsp.buf.code_action()`
-- exactly as a user would (vim.ui.select picks the preferred fix), which sends
-- `workspace/executeCommand`; wait for the diagnostic to go away.
--
-- Every wait is a vim.wait on a condition with a deadline. The outcome goes to
-- report.json; the exit code is 0 only when every step passed.

local env = function(name)
  local v = os.getenv(name)
  if not v or v == '' then error('missing environment variable ' .. name) end
  return v
end

local NODE, SERVER = env('CD_NODE'), env('CD_SERVER')
local SIM_URL, SIM_TOKEN = env('CD_SIM_URL'), env('CD_SIM_TOKEN')
local WORK = env('CD_WORK')
local DEADLINE = tonumber(env('CD_DEADLINE_MS'))
local CLUSTER = 'sim'
local RULE = 'shards/dangling'
local LIVE_URI = 'cluster://' .. CLUSTER .. '/' .. CLUSTER .. '.shards.clustersnap'

local report = { steps = {}, server_log = {} }

local function step(msg)
  table.insert(report.steps, msg)
  io.stdout:write('[nvim] ' .. msg .. '\n')
  io.stdout:flush()
end

local function write_report()
  local f = assert(io.open(WORK .. '/report.json', 'w'))
  f:write(vim.fn.json_encode(report))
  f:close()
end

--- Waits for `cond()` to be truthy, or fails with `what` and the server's last log lines.
local function wait_for(what, cond)
  local value
  local ok = vim.wait(DEADLINE, function()
    value = cond()
    return value and true or false
  end, 20)
  if not ok then
    local tail = {}
    for i = math.max(1, #report.server_log - 8), #report.server_log do table.insert(tail, report.server_log[i]) end
    error(string.format('timed out after %d ms waiting for %s; server log:\n%s', DEADLINE, what, table.concat(tail, '\n')), 0)
  end
  return value
end

local function codes(diagnostics)
  local seen, out = {}, {}
  for _, d in ipairs(diagnostics) do
    local c = tostring(d.code)
    if not seen[c] then
      seen[c] = true
      table.insert(out, c)
    end
  end
  table.sort(out)
  return out
end

local function has_rule(diagnostics)
  for _, d in ipairs(diagnostics) do
    if d.code == RULE then return d end
  end
  return nil
end

--- A synchronous request that must succeed: an LSP error fails the step with its code and message.
local function request(client, method, params)
  local res, err = client.request_sync(method, params, DEADLINE)
  if not res then error(string.format('%s: no answer (%s)', method, tostring(err)), 0) end
  if res.err then error(string.format('%s failed: %s %s', method, tostring(res.err.code), res.err.message), 0) end
  return res.result
end

local function run()
  vim.lsp.set_log_level('warn')

  -- What came back for `workspace/executeCommand`: Neovim's default handler only reports errors.
  local executed = nil
  local default_execute = vim.lsp.handlers['workspace/executeCommand']

  local client_id = vim.lsp.start_client({
    name = 'cluster-debugger',
    cmd = { NODE, SERVER, '--stdio' },
    root_dir = WORK,
    handlers = {
      ['workspace/executeCommand'] = function(err, result, ctx, config)
        executed = { err = err, result = result, command = ctx.params and ctx.params.command }
        return default_execute(err, result, ctx, config)
      end,
      ['window/logMessage'] = function(_, result)
        table.insert(report.server_log, result.message)
      end,
    },
  })
  if not client_id then error('vim.lsp.start_client failed', 0) end
  local client = wait_for('the language server to initialize', function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c and c.initialized and c
  end)
  report.executeCommandProvider = client.server_capabilities.executeCommandProvider
  step('initialized; the server executes ' .. vim.inspect(client.server_capabilities.executeCommandProvider.commands))

  -- A live cluster, through the server's own request.
  local info = request(client, 'clusterDebugger/connect', { name = CLUSTER, url = SIM_URL, token = SIM_TOKEN })
  report.connect_state = info.state
  step('connected to ' .. CLUSTER .. ': ' .. info.state)

  local live_buf = vim.uri_to_bufnr(LIVE_URI)
  local live_diag = wait_for('diagnostics on ' .. LIVE_URI, function()
    local d = vim.diagnostic.get(live_buf)
    return has_rule(d) and d
  end)
  report.live_codes_before = codes(live_diag)
  step(LIVE_URI .. ': ' .. table.concat(report.live_codes_before, ', '))

  -- A saved snapshot file, checked offline: the same rules, repairs disabled.
  local snapshot = request(client, 'clusterDebugger/snapshot', { cluster = CLUSTER })
  local path = WORK .. '/saved.clustersnap'
  local f = assert(io.open(path, 'w'))
  f:write(snapshot.text)
  f:close()
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local file_buf = vim.api.nvim_get_current_buf()
  vim.bo[file_buf].filetype = 'clustersnap'
  vim.lsp.buf_attach_client(file_buf, client_id)
  local file_diag = wait_for('diagnostics on ' .. path, function()
    local d = vim.diagnostic.get(file_buf)
    return has_rule(d) and d
  end)
  report.file_codes = codes(file_diag)
  step(path .. ': ' .. table.concat(report.file_codes, ', '))

  local fd = has_rule(file_diag)
  vim.api.nvim_win_set_cursor(0, { fd.lnum + 1, fd.col })
  local file_params = vim.lsp.util.make_range_params()
  file_params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(file_buf) }
  local file_actions = request(client, 'textDocument/codeAction', file_params) or {}
  report.file_actions = #file_actions
  step(string.format('code actions on the snapshot file: %d', #file_actions))

  -- The cluster's document, with its text from the server, as a scratch buffer.
  local text = request(client, 'clusterDebugger/document', { uri = LIVE_URI }).text
  vim.cmd('buffer ' .. live_buf)
  vim.bo[live_buf].buftype = 'nofile'
  vim.api.nvim_buf_set_lines(live_buf, 0, -1, false, vim.split(text, '\n', { plain = true }))
  vim.bo[live_buf].filetype = 'clustersnap'
  vim.bo[live_buf].modifiable = false
  vim.lsp.buf_attach_client(live_buf, client_id)

  local ld = has_rule(vim.diagnostic.get(live_buf))
  vim.api.nvim_win_set_cursor(0, { ld.lnum + 1, ld.col })

  -- The user's `:lua vim.lsp.buf.code_action()`; the picker chooses the preferred quick fix.
  local offered = nil
  vim.ui.select = function(items, _, on_choice)
    offered = {}
    local choice = nil
    for _, item in ipairs(items) do
      local action = item[2]
      table.insert(offered, { title = action.title, command = action.command and action.command.command, preferred = action.isPreferred == true, disabled = action.disabled ~= nil })
      if action.isPreferred and not choice then choice = item end
    end
    on_choice(choice)
  end
  vim.lsp.buf.code_action({ only = { 'quickfix' } })
  wait_for('the code actions on ' .. LIVE_URI, function() return offered end)
  report.live_actions = offered
  step('quick fixes offered: ' .. vim.inspect(offered))
  local preferred = nil
  for _, a in ipairs(offered) do
    if a.preferred then preferred = a end
  end
  if not preferred then error('no preferred quick fix among ' .. vim.inspect(offered), 0) end

  wait_for('the answer to workspace/executeCommand', function() return executed end)
  report.executed = executed
  if executed.err then
    error(string.format('workspace/executeCommand %s failed: %s %s', tostring(executed.command), tostring(executed.err.code), executed.err.message), 0)
  end
  step('executed ' .. executed.command .. ': ' .. executed.result.summary)

  wait_for('the ' .. RULE .. ' diagnostic to clear on ' .. LIVE_URI, function()
    return not has_rule(vim.diagnostic.get(live_buf))
  end)
  report.live_codes_after = codes(vim.diagnostic.get(live_buf))
  step(LIVE_URI .. ' after the quick fix: ' .. (#report.live_codes_after > 0 and table.concat(report.live_codes_after, ', ') or 'clean'))

  client.stop()
  wait_for('the language server to exit', function() return client.is_stopped() end)
end

local ok, err = xpcall(run, function(e)
  return type(e) == 'string' and e or vim.inspect(e)
end)
report.ok = ok
report.error = (not ok) and tostring(err) or nil
if not ok then io.stdout:write('[nvim] FAILED: ' .. tostring(err) .. '\n') end
local wrote, werr = pcall(write_report)
if not wrote then io.stdout:write('[nvim] could not write the report: ' .. tostring(werr) .. '\n') end
io.stdout:flush()
vim.cmd(ok and 'qall!' or 'cquit 1')
