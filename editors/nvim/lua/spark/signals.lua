--- What the user did with a suggestion, told to the server so it learns when to speak:
--- `spark/didShow` when a ghost text or a next edit is on screen, `spark/didReject` when the user
--- dismissed it (docs/protocol.md). Accepts go through the items' commands.
local M = {}

--- The suggestion's id: a next edit's `id`, or the second argument of an item's command
--- (`["uri", "in-7"]`); nil for servers that send none.
--- @param command table|nil
--- @return string|nil
function M.command_id(command)
  local args = type(command) == "table" and command.arguments or nil
  local id = type(args) == "table" and args[2] or nil
  return type(id) == "string" and id or nil
end

--- The kind of an inline item: the next edit the server offers as ghost text when it continues
--- the cursor's line is a "nextEdit", every other item "inline".
function M.kind_of(command)
  return type(command) == "table" and command.command == "spark.didAcceptNextEdit" and "nextEdit" or "inline"
end

local function notify(client_id, method, bufnr, kind, id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  client:notify(method, { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, kind = kind, id = id })
end

--- `kind` is "inline" or "nextEdit".
function M.shown(client_id, bufnr, kind, id)
  notify(client_id, "spark/didShow", bufnr, kind, id)
end

--- `spark/didShow` for a suggestion not yet announced: partial results and answers asked again
--- show the same item many times. `state.shown` keeps the last one (its id, else `where`).
function M.shown_once(state, bufnr, command, where)
  local id = M.command_id(command)
  local key = id or where
  if state.shown == key then
    return
  end
  state.shown = key
  M.shown(state.client_id, bufnr, M.kind_of(command), id)
end

function M.rejected(client_id, bufnr, kind, id)
  notify(client_id, "spark/didReject", bufnr, kind, id)
end

return M
