--- spark-lsp for Neovim: `setup()`, and the hooks `lsp/spark.lua` uses. The ghost text lives in
--- `spark.ghost`, next edits in `spark.next_edit`, the status in `spark.status`, the forwarded
--- diagnostics in `spark.diagnostics`, the shown/rejected signals in `spark.signals`.
local M = {}

local config = require("spark.config")

--- Validates `opts` and applies them; call before `vim.lsp.enable("spark")` (or any time: the
--- `spark` config is updated and takes effect for servers started afterwards).
--- @param opts spark.Options|nil
function M.setup(opts)
  config.set(opts)
  vim.lsp.config("spark", {
    cmd = config.cmd(),
    init_options = config.options.settings,
    settings = { spark = config.options.settings },
  })
  require("spark.keymaps").set(config.options.keymaps)
end

--- Handlers for server → client messages: `spark/status`, and `$/progress` carrying partial
--- inline-completion results (other progress goes to Neovim's own handler).
function M.handlers()
  return {
    ["spark/status"] = function(_, params, ctx)
      require("spark.status").update(ctx.client_id, params)
    end,
    ["$/progress"] = function(err, params, ctx, cfg)
      if params and require("spark.ghost").on_partial(params, ctx) then
        return
      end
      return vim.lsp.handlers["$/progress"](err, params, ctx, cfg)
    end,
  }
end

--- Client-side command: the server's "Rewrite with instruction…" action leaves the instruction
--- for the editor to ask.
vim.lsp.commands["spark.rewrite"] = function(command, ctx)
  local args = vim.deepcopy(command.arguments or {})
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client or type(args[1]) ~= "table" then
    return
  end
  local function run(instruction)
    if not instruction or vim.trim(instruction) == "" then
      return
    end
    args[1].instruction = vim.trim(instruction)
    client:request("workspace/executeCommand", { command = command.command, arguments = args }, function(err)
      if err then
        vim.notify("spark-lsp: " .. err.message, vim.log.levels.ERROR)
      end
    end, ctx.bufnr)
  end
  if type(args[1].instruction) == "string" and vim.trim(args[1].instruction) ~= "" then
    return run(args[1].instruction)
  end
  vim.ui.input({ prompt = "Rewrite with instruction: " }, run)
end

--- @param client vim.lsp.Client
--- @param bufnr integer
function M.on_attach(client, bufnr)
  -- Other servers' diagnostics are where next edits jump to.
  require("spark.diagnostics").attach(bufnr)
  if not config.options.ghost_text.enabled then
    return
  end
  if vim.lsp.inline_completion then
    -- Neovim 0.12+: the native inline completion renders and accepts the ghost text.
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    return
  end
  require("spark.ghost").attach(client, bufnr)
end

--- The status line text, e.g. `spark ✓ 12ms`; empty when no spark-lsp client runs.
function M.statusline()
  return require("spark.status").text()
end

--- Trusts the workspace's spark-lsp.toml as it is now (the server's `spark.trustWorkspaceConfig`,
--- the same record as `spark-lsp trust`): its sensitive settings apply at once. The server
--- confirms with a message; an error (no such file) is shown.
function M.trust()
  local client = vim.lsp.get_clients({ name = "spark" })[1]
  if not client then
    vim.notify("spark-lsp is not running", vim.log.levels.WARN)
    return
  end
  local params = { command = "spark.trustWorkspaceConfig", arguments = {} }
  client:request("workspace/executeCommand", params, function(err)
    if err then
      vim.notify("spark-lsp: " .. err.message, vim.log.levels.ERROR)
    end
  end)
end

--- Rewrites the lines of the visual selection (or the function at the cursor) with an
--- instruction, through the server's `spark.rewrite` command.
--- @param instruction string|nil asked for when nil
--- @param range { [1]: integer, [2]: integer }|nil 1-based first and last line
function M.rewrite(instruction, range)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = "spark" })[1]
  if not client then
    vim.notify("spark-lsp is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local first, last
  if range then
    first, last = range[1] - 1, range[2] - 1
  else
    local row = vim.api.nvim_win_get_cursor(0)[1] - 1
    first, last = row, row
  end
  local last_line = vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ""
  local lsp_range = {
    start = { line = first, character = 0 },
    ["end"] = { line = last, character = vim.str_utfindex(last_line, client.offset_encoding) },
  }
  if range == nil then
    lsp_range["end"] = lsp_range.start
  end
  vim.lsp.commands["spark.rewrite"]({
    title = "Rewrite",
    command = "spark.rewrite",
    arguments = {
      {
        uri = vim.uri_from_bufnr(bufnr),
        range = lsp_range,
        instruction = instruction or "",
        version = vim.lsp.util.buf_versions[bufnr],
      },
    },
  }, { client_id = client.id, bufnr = bufnr })
end

return M
