--- Other servers' diagnostics reach spark-lsp (`spark/didChangeDiagnostics`, tests/fake_server.lua
--- records it): debounced, converted to LSP positions in the client's encoding, without
--- spark-lsp's own, sent again when they change (an empty list when they are gone).
local dir = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local H = dofile(dir .. "/helpers.lua")
local F = dofile(dir .. "/fake_server.lua")

H.run(function()
  F.setup()
  local client = H.open("diag.rs", "fn main() {\n    let é = 1;\n    let unused = 2;\n}\n")
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local function forwarded()
    return F.sent("spark/didChangeDiagnostics")
  end

  -- spark-lsp's own diagnostics stay out; another server's are sent.
  local own = vim.lsp.diagnostic.get_namespace(client.id, false)
  vim.diagnostic.set(own, bufnr, { { lnum = 0, col = 0, message = "spark's own" } })
  local other = vim.api.nvim_create_namespace("rust-analyzer")
  local warning = { lnum = 2, col = 8, end_lnum = 2, end_col = 14, message = "unused variable", severity = vim.diagnostic.severity.WARN, source = "rustc", code = "unused_variables" }
  -- Columns after a multi-byte character: `é` is 2 bytes, 1 UTF-16 unit.
  local after_e = { lnum = 1, col = 12, end_lnum = 1, end_col = 13, message = "expected `;`", severity = vim.diagnostic.severity.ERROR }
  vim.diagnostic.set(other, bufnr, { warning, after_e })
  H.wait(function()
    return #forwarded() > 0
  end, "forwarded diagnostics")
  H.eq(1, #forwarded(), "debounced into one notification")
  H.eq({
    textDocument = { uri = uri },
    diagnostics = {
      { range = { start = { line = 1, character = 11 }, ["end"] = { line = 1, character = 12 } }, severity = 1, message = "expected `;`" },
      { range = { start = { line = 2, character = 8 }, ["end"] = { line = 2, character = 14 } }, severity = 2, message = "unused variable", source = "rustc", code = "unused_variables" },
    },
  }, forwarded()[1], "the other server's diagnostics in UTF-16")

  -- A change of spark-lsp's own sends nothing; the other's going away sends the empty list.
  vim.diagnostic.set(own, bufnr, {})
  vim.diagnostic.set(other, bufnr, { warning })
  vim.diagnostic.reset(other, bufnr)
  H.wait(function()
    return #forwarded() > 1
  end, "the cleared diagnostics")
  H.sleep(require("spark.diagnostics").debounce_ms * 2)
  H.eq(2, #forwarded(), "one more notification")
  H.eq({ textDocument = { uri = uri }, diagnostics = {} }, forwarded()[2], "none left")
end)
