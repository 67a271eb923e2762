--- Highlight groups and the `:Spark` command. The server itself is started by
--- `vim.lsp.enable("spark")` (configuration in `lsp/spark.lua`).
if vim.g.loaded_spark then
  return
end
vim.g.loaded_spark = true

if vim.fn.has("nvim-0.11") == 0 then
  vim.notify("spark-lsp needs Neovim 0.11 or later", vim.log.levels.WARN)
  return
end

local function highlights()
  vim.api.nvim_set_hl(0, "SparkGhostText", { link = "Comment", default = true })
  vim.api.nvim_set_hl(0, "SparkNextEditRemoved", { link = "DiffDelete", default = true })
  vim.api.nvim_set_hl(0, "SparkNextEditAdded", { link = "DiffAdd", default = true })
  vim.api.nvim_set_hl(0, "SparkNextEditJump", { link = "DiagnosticHint", default = true })
end
highlights()
vim.api.nvim_create_autocmd("ColorScheme", { group = vim.api.nvim_create_augroup("spark.highlights", {}), callback = highlights })

local subcommands = {
  enable = function()
    vim.lsp.enable("spark")
  end,
  disable = function()
    vim.lsp.enable("spark", false)
  end,
  restart = function()
    local clients = vim.lsp.get_clients({ name = "spark" })
    local buffers = {}
    for _, client in ipairs(clients) do
      vim.list_extend(buffers, vim.tbl_keys(client.attached_buffers))
      client:stop()
    end
    vim.wait(3000, function()
      return vim.iter(clients):all(function(c)
        return c:is_stopped()
      end)
    end)
    -- Re-run vim.lsp.enable's FileType handler, which starts the server for each buffer.
    for _, bufnr in ipairs(buffers) do
      vim.api.nvim_exec_autocmds("FileType", { group = "nvim.lsp.enable", buffer = bufnr })
    end
  end,
  status = function()
    local text = require("spark").statusline()
    vim.notify(text ~= "" and text or "spark-lsp is not running")
  end,
  log = function()
    vim.cmd.tabnew(vim.lsp.get_log_path())
  end,
  next_edit = function()
    require("spark.next_edit").request()
  end,
  accept_edit = function()
    require("spark.next_edit").accept()
  end,
  trust = function()
    require("spark").trust()
  end,
  rewrite = function(args)
    local range = args.range > 0 and { args.line1, args.line2 } or nil
    local instruction = args.fargs[2] and table.concat(vim.list_slice(args.fargs, 2), " ") or nil
    require("spark").rewrite(instruction, range)
  end,
}

vim.api.nvim_create_user_command("Spark", function(args)
  local sub = subcommands[args.fargs[1] or "status"]
  if not sub then
    vim.notify("Spark: unknown subcommand " .. args.fargs[1], vim.log.levels.ERROR)
    return
  end
  sub(args)
end, {
  nargs = "*",
  range = true,
  desc = "spark-lsp: enable, disable, restart, status, log, next_edit, accept_edit, rewrite, trust",
  complete = function(arg_lead, line)
    if line:match("^%S+%s+%S+%s") then
      return {}
    end
    return vim.tbl_filter(function(name)
      return name:find(arg_lead, 1, true) == 1
    end, vim.tbl_keys(subcommands))
  end,
})
