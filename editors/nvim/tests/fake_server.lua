--- A language server in Lua, in the Neovim process, for tests of the plugin's side of a protocol
--- (docs/protocol.md) independent of what the real binary answers: it answers `spark/nextEdit`
--- and `textDocument/inlineCompletion` from scripted queues and records every notification and
--- executed command. Used as `vim.lsp.config("spark", { cmd = F.cmd })` (a `cmd` function is
--- Neovim's in-process RPC client).
local F = {
  --- Results of the next `spark/nextEdit` requests, in order (or functions of the request's
  --- params returning one); `{ edits = {} }` when empty.
  next_edits = {},
  --- Results of the next `textDocument/inlineCompletion` requests; `{ items = {} }` when empty.
  inline = {},
  --- { method, params } of every notification the client sent.
  notifications = {},
  --- The params of every `workspace/executeCommand`.
  commands = {},
  --- How many `spark/nextEdit` answers the client has handled.
  next_edit_answers = 0,
}

local capabilities = {
  textDocumentSync = { openClose = true, change = 2 },
  inlineCompletionProvider = true,
  executeCommandProvider = { commands = { "spark.didAccept", "spark.didAcceptNextEdit" } },
}

local function answer(method, params)
  if method == "initialize" then
    return { capabilities = capabilities, serverInfo = { name = "fake-spark" } }
  elseif method == "spark/nextEdit" then
    local next = table.remove(F.next_edits, 1) or { edits = {} }
    return type(next) == "function" and next(params) or next
  elseif method == "textDocument/inlineCompletion" then
    return table.remove(F.inline, 1) or { items = {} }
  elseif method == "workspace/executeCommand" then
    table.insert(F.commands, params)
  end
  return vim.NIL
end

--- @param dispatchers vim.lsp.rpc.Dispatchers
--- @return vim.lsp.rpc.PublicClient
function F.cmd(dispatchers)
  local closing, next_id = false, 0
  return {
    request = function(method, params, callback)
      next_id = next_id + 1
      local result = answer(method, params)
      vim.schedule(function()
        callback(nil, result)
        if method == "spark/nextEdit" then
          F.next_edit_answers = F.next_edit_answers + 1
        end
      end)
      return true, next_id
    end,
    notify = function(method, params)
      table.insert(F.notifications, { method = method, params = params })
      if method == "exit" then
        closing = true
        vim.schedule(function()
          dispatchers.on_exit(0, 15)
        end)
      end
      return true
    end,
    is_closing = function()
      return closing
    end,
    terminate = function()
      closing = true
    end,
  }
end

--- The params of the notifications named `method`.
function F.sent(method)
  return vim.iter(F.notifications)
    :filter(function(n)
      return n.method == method
    end)
    :map(function(n)
      return n.params
    end)
    :totable()
end

--- The plugin set up against this server, as a user's config would (spark's name, our `cmd`).
function F.setup(opts)
  require("spark").setup(opts or {})
  vim.lsp.config("spark", { cmd = F.cmd })
  vim.lsp.enable("spark")
end

return F
