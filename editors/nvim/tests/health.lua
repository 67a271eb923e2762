--- `:checkhealth spark` finds the binary, runs it and reports OK with no error.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  H.setup()
  H.open("add.rs", "fn main() {}\n")
  -- spark/status reaches the status line.
  H.wait(function()
    return require("spark").statusline():find("^spark ✓")
  end, "the status line from spark/status", { shown = require("spark").statusline })
  vim.cmd("checkhealth spark")
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  local function has(pattern, what)
    if not report:find(pattern) then
      error(("the report lacks %s:\n%s"):format(what, report))
    end
  end
  has("OK Neovim 0%.11", "the Neovim version")
  has("OK spark%-lsp %d+%.%d+", "the binary's --version")
  has("OK options are valid", "the options check")
  has("OK client %d+ running, position encoding utf%-8", "the running client")
  H.eq(1, #vim.lsp.get_clients({ name = "spark" }), "one server")
  if report:find("ERROR") or report:find("WARNING") then
    error("the report has errors or warnings:\n" .. report)
  end

  -- :Spark restart stops the server and starts a new one for the file's buffer.
  vim.cmd.bwipeout()
  local old = vim.lsp.get_clients({ bufnr = 0, name = "spark" })[1]
  vim.cmd("Spark restart")
  H.wait(function()
    local client = vim.lsp.get_clients({ bufnr = 0, name = "spark" })[1]
    return client and client.id ~= old.id and client.initialized
  end, "a new spark-lsp client for the buffer")
  H.eq(true, old:is_stopped(), "the old one stopped")
end)
