--- Options of the spark-lsp plugin: defaults, validation, and the values in force.
local M = {}

--- @class spark.Keymaps
--- @field accept string|false       Accept the whole suggestion (or the next-edit preview).
--- @field accept_word string|false  Accept the next word of the suggestion.
--- @field accept_line string|false  Accept the rest of the suggestion's current line.
--- @field next string|false         Show the next suggestion (asks for one when none is shown).
--- @field prev string|false         Show the previous suggestion.
--- @field dismiss string|false      Hide the suggestion and the next-edit preview.
--- @field next_edit string|false    Ask for the next edit and show it (normal and insert mode).
--- @field dismiss_next_edit string|false  Dismiss the next edit in normal mode (and tell the server).

--- @class spark.Options
--- @field server { path: string, args: string[] }
--- @field settings table           The server configuration (docs/configuration.md), sent as init_options.
--- @field ghost_text { enabled: boolean, hl_group: string }
--- @field keymaps spark.Keymaps

--- @type spark.Options
M.defaults = {
  server = { path = "spark-lsp", args = {} },
  settings = vim.empty_dict(),
  ghost_text = { enabled = true, hl_group = "SparkGhostText" },
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-w>",
    accept_line = "<M-l>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
    next_edit = "<M-n>",
    dismiss_next_edit = "<Esc>",
  },
}

--- @type spark.Options
M.options = vim.deepcopy(M.defaults)

local function key_or_false(value)
  return value == false or (type(value) == "string" and value ~= "")
end

--- Checks `opts` and raises an error naming the bad key.
--- @param opts table
function M.validate(opts)
  vim.validate("opts", opts, "table")
  vim.validate("server", opts.server, "table", true)
  if opts.server then
    vim.validate("server.path", opts.server.path, "string", true)
    vim.validate("server.args", opts.server.args, "table", true)
  end
  vim.validate("settings", opts.settings, "table", true)
  vim.validate("ghost_text", opts.ghost_text, "table", true)
  if opts.ghost_text then
    vim.validate("ghost_text.enabled", opts.ghost_text.enabled, "boolean", true)
    vim.validate("ghost_text.hl_group", opts.ghost_text.hl_group, "string", true)
  end
  vim.validate("keymaps", opts.keymaps, { "table", "boolean" }, true)
  if type(opts.keymaps) == "table" then
    for name, value in pairs(opts.keymaps) do
      if M.defaults.keymaps[name] == nil then
        error(("keymaps.%s: unknown mapping (known: %s)"):format(
          name,
          table.concat(vim.tbl_keys(M.defaults.keymaps), ", ")
        ))
      end
      vim.validate("keymaps." .. name, value, key_or_false, "a key like '<Tab>' or false")
    end
  end
  for name in pairs(opts) do
    if M.defaults[name] == nil then
      error(("%s: unknown option (known: server, settings, ghost_text, keymaps)"):format(name))
    end
  end
end

--- Validates and applies `opts` over the defaults; `keymaps = false` turns every mapping off.
--- @param opts table|nil
function M.set(opts)
  opts = opts or {}
  M.validate(opts)
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  if opts.keymaps == false then
    merged.keymaps = vim.tbl_map(function()
      return false
    end, M.defaults.keymaps)
  end
  if opts.settings then
    merged.settings = vim.deepcopy(opts.settings)
  end
  M.options = merged
end

--- The command that starts the server.
--- @return string[]
function M.cmd()
  local cmd = { M.options.server.path }
  vim.list_extend(cmd, M.options.server.args)
  return cmd
end

return M
