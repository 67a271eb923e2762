--- Forwards the diagnostics other language servers (and linters) put on a buffer to spark-lsp
--- (`spark/didChangeDiagnostics`), so the next edit can go where the errors are. Debounced per
--- buffer; spark-lsp's own namespaces are left out; sent only when they changed.
local M = {}

local group = vim.api.nvim_create_augroup("spark.diagnostics", { clear = true })
local line_at = require("spark.position").line_at

--- Quiet time after the last DiagnosticChanged before the set is sent.
M.debounce_ms = 200
--- The server keeps at most this many per document (docs/protocol.md).
local MAX = 1000

--- @type table<integer, integer> bufnr → generation of the latest scheduled send
local generation = {}
--- @type table<integer, table> bufnr → the diagnostics last sent
local sent = {}

local function spark_client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = "spark" })[1]
end

--- Whether namespace `ns` holds `client`'s own diagnostics (push: `vim.lsp.spark.3`, pull:
--- `vim.lsp.spark.3.<id>`).
local function ours(ns, client)
  local info = vim.diagnostic.get_namespace(ns)
  local prefix = ("vim.lsp.%s.%d"):format(client.name, client.id)
  local name = info and info.name or ""
  return name == prefix or vim.startswith(name, prefix .. ".")
end

local function lsp_position(bufnr, row, col, encoding)
  local line = line_at(bufnr, row)
  col = math.max(0, math.min(col or 0, #line))
  return { line = row, character = vim.str_utfindex(line, encoding, col, false) }
end

--- A vim.Diagnostic as an LSP Diagnostic in `encoding`.
local function to_lsp(bufnr, d, encoding)
  local code = d.code
  if type(code) ~= "string" and type(code) ~= "number" then
    code = nil
  end
  return {
    range = {
      start = lsp_position(bufnr, d.lnum, d.col, encoding),
      ["end"] = lsp_position(bufnr, d.end_lnum or d.lnum, d.end_col or d.col, encoding),
    },
    severity = d.severity,
    message = tostring(d.message or ""),
    source = type(d.source) == "string" and d.source or nil,
    code = code,
  }
end

--- The buffer's diagnostics from other namespaces, as LSP diagnostics (at most MAX, by line).
function M.collect(bufnr, client)
  local own = {}
  local all = vim.diagnostic.get(bufnr)
  table.sort(all, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  local out = {}
  for _, d in ipairs(all) do
    if own[d.namespace] == nil then
      own[d.namespace] = ours(d.namespace, client)
    end
    if not own[d.namespace] then
      table.insert(out, to_lsp(bufnr, d, client.offset_encoding))
      if #out == MAX then
        break
      end
    end
  end
  return out
end

--- Sends the buffer's current diagnostics when they differ from the last ones sent.
function M.send(bufnr)
  local client = vim.api.nvim_buf_is_valid(bufnr) and spark_client(bufnr)
  if not client then
    return
  end
  local diagnostics = M.collect(bufnr, client)
  local last = sent[bufnr]
  if (last == nil and #diagnostics == 0) or (last ~= nil and vim.deep_equal(last, diagnostics)) then
    return
  end
  sent[bufnr] = diagnostics
  client:notify("spark/didChangeDiagnostics", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    diagnostics = diagnostics,
  })
end

--- Sends the buffer's diagnostics once they have been quiet for `debounce_ms`.
function M.schedule(bufnr)
  generation[bufnr] = (generation[bufnr] or 0) + 1
  local mine = generation[bufnr]
  vim.defer_fn(function()
    if generation[bufnr] == mine then
      M.send(bufnr)
    end
  end, M.debounce_ms)
end

--- Starts forwarding for `bufnr` (the diagnostics it already has are sent too).
function M.attach(bufnr)
  sent[bufnr] = nil
  M.schedule(bufnr)
end

vim.api.nvim_create_autocmd("DiagnosticChanged", {
  group = group,
  callback = function(args)
    if spark_client(args.buf) then
      M.schedule(args.buf)
    end
  end,
})
vim.api.nvim_create_autocmd({ "BufWipeout", "LspDetach" }, {
  group = group,
  callback = function(args)
    sent[args.buf], generation[args.buf] = nil, nil
  end,
})

return M
