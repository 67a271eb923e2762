--- setup() validates its options and names the bad key; lsp/spark.lua carries them.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

local function rejects(opts, pattern)
  local ok, err = pcall(require("spark").setup, opts)
  if ok or not tostring(err):find(pattern) then
    error(("setup(%s) should fail with %q, got %s"):format(vim.inspect(opts), pattern, tostring(err)))
  end
end

H.run(function()
  rejects({ server = { path = 3 } }, "server.path")
  rejects({ keymaps = { accept = 1 } }, "keymaps.accept")
  rejects({ keymaps = { acept = "<Tab>" } }, "keymaps.acept: unknown mapping")
  rejects({ ghost = true }, "ghost: unknown option")
  rejects({ settings = "fast" }, "settings")

  require("spark").setup({ server = { path = "/opt/spark-lsp", args = { "--log-file", "/tmp/s.log" } }, settings = { provider = { model = "m" } }, keymaps = { accept_word = false } })
  local config = vim.lsp.config.spark
  H.eq({ "/opt/spark-lsp", "--log-file", "/tmp/s.log" }, config.cmd, "cmd")
  H.eq({ provider = { model = "m" } }, config.init_options, "init_options")
  H.eq({ debounce_text_changes = 0 }, config.flags, "no didChange batching")
  H.eq(true, config.capabilities.experimental.spark.rewriteInstruction, "the rewrite prompt capability")
  H.eq(nil, config.filetypes, "every filetype")
  H.eq("", vim.fn.maparg("<M-w>", "i"), "a mapping set to false is not mapped")
  H.eq(true, vim.fn.maparg("<Tab>", "i") ~= "", "<Tab> is mapped")

  -- Without a suggestion, a key falls back to the mapping it had before setup() (here a
  -- completion plugin's <Tab>), or to the key itself.
  vim.keymap.set("i", "<C-l>", function()
    return "[cmp]"
  end, { expr = true })
  require("spark").setup({ keymaps = { accept_line = "<C-l>" } })
  vim.cmd.enew()
  H.feed("ix<C-l><Tab>y<Esc>")
  H.eq({ "x[cmp]\ty" }, H.lines(), "the keys did what they did before")

  -- :checkhealth says what is wrong when the binary is missing.
  require("spark").setup({ server = { path = "/nonexistent/spark-lsp" } })
  vim.cmd("checkhealth spark")
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  if not report:find("ERROR spark%-lsp binary not found: /nonexistent/spark%-lsp") then
    error("no error for the missing binary:\n" .. report)
  end
end)
