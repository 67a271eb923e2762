--- The `vim.lsp.Config` of spark-lsp, found by `vim.lsp.enable("spark")`.
--- `require("spark").setup(opts)` fills in the server path and settings; without it the
--- defaults apply (`spark-lsp` on PATH, the server's own configuration file).
local config = require("spark.config")
local spark = require("spark")

--- @type vim.lsp.Config
return {
  cmd = config.cmd(),
  -- No filetypes: spark-lsp completes every language.
  -- One server per project: the directory with spark-lsp.toml or .git, else the working directory.
  -- Buffers without a file name (the empty start-up buffer) get no server.
  root_dir = function(bufnr, on_dir)
    local name = vim.api.nvim_buf_get_name(bufnr)
    if name == "" then
      return
    end
    on_dir(vim.fs.root(bufnr, { "spark-lsp.toml", ".git" }) or vim.fn.getcwd())
  end,
  init_options = config.options.settings,
  settings = { spark = config.options.settings },
  -- Neovim batches didChange for 150 ms by default; the server is built for every keystroke.
  flags = { debounce_text_changes = 0 },
  capabilities = {
    -- The plugin prompts for the instruction of "Rewrite with instruction…".
    experimental = { spark = { rewriteInstruction = true } },
  },
  handlers = spark.handlers(),
  on_attach = spark.on_attach,
}
