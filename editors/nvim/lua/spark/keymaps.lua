--- The plugin's mappings. Each one acts only when there is something to act on (a suggestion,
--- a next-edit preview) and otherwise types its key as if it were not mapped, so `<Tab>` still
--- indents when nothing is suggested.
local M = {}

local function ghost()
  return require("spark.ghost")
end

local function next_edit()
  return require("spark.next_edit")
end

local function native()
  return vim.lsp.inline_completion
end

--- What each mapping does: `when` says whether it applies now, `run` does it.
M.actions = {
  accept = {
    modes = { "i", "n" },
    when = function()
      if vim.fn.mode() == "i" and ghost().visible() then
        return true
      end
      return next_edit().visible()
    end,
    run = function()
      if vim.fn.mode() == "i" and ghost().accept() then
        return
      end
      next_edit().accept()
    end,
  },
  accept_word = { modes = { "i" }, when = function() return ghost().visible() end, run = function() ghost().accept_word() end },
  accept_line = { modes = { "i" }, when = function() return ghost().visible() end, run = function() ghost().accept_line() end },
  next = { modes = { "i" }, when = function() return true end, run = function() ghost().cycle(1) end },
  prev = { modes = { "i" }, when = function() return ghost().visible() end, run = function() ghost().cycle(-1) end },
  dismiss = {
    modes = { "i", "n" },
    when = function()
      return ghost().visible() or next_edit().visible()
    end,
    run = function()
      ghost().dismiss()
      next_edit().dismiss(nil, "rejected")
    end,
  },
  dismiss_next_edit = {
    modes = { "n" },
    when = function()
      return next_edit().visible()
    end,
    run = function()
      next_edit().dismiss(nil, "rejected")
    end,
  },
  next_edit = { modes = { "i", "n" }, when = function() return true end, run = function() next_edit().request() end },
}

--- Runs a mapping's action (called through `<Cmd>` so that it may change the buffer).
function M.run(name)
  M.actions[name].run()
end

--- With Neovim 0.12's native inline completion, accepting and cycling go to it.
local function native_action(name)
  local ic = native()
  if not ic then
    return nil
  end
  if name == "accept" then
    return function()
      return ic.get()
    end
  elseif name == "next" or name == "prev" then
    return function()
      ic.select({ count = name == "next" and 1 or -1 })
      return true
    end
  end
  return nil
end

local mapped = {}
--- The mappings the plugin's replaced, by index, so its keys fall back to them.
local previous = {}

--- Keys that do what `lhs` did before the plugin mapped it: the earlier mapping's result, or
--- the key itself.
local function fallback(index, lhs)
  local prev = previous[index]
  if not prev or vim.tbl_isempty(prev) then
    return lhs
  end
  if prev.callback then
    if prev.expr == 1 then
      return prev.callback()
    end
    return ("<Cmd>lua require('spark.keymaps').call_previous(%d)<CR>"):format(index)
  end
  local rhs = prev.rhs or ""
  if prev.expr == 1 then
    return vim.api.nvim_eval(rhs)
  end
  if prev.noremap == 1 then
    return rhs
  end
  -- A recursive mapping: its keys go through mappings again.
  vim.api.nvim_feedkeys(vim.keycode(rhs), "m", false)
  return ""
end

function M.call_previous(index)
  previous[index].callback()
end

--- Sets the mappings in `keymaps` (name → key or false), replacing the previous ones.
--- @param keymaps spark.Keymaps
function M.set(keymaps)
  for _, m in ipairs(mapped) do
    -- Only our own mapping goes, and what it replaced comes back.
    local current = vim.fn.maparg(m.lhs, m.mode, false, true)
    if (current.desc or ""):find("^spark: ") then
      pcall(vim.keymap.del, m.mode, m.lhs)
      if not vim.tbl_isempty(m.previous) then
        vim.fn.mapset(m.mode, false, m.previous)
      end
    end
  end
  mapped, previous = {}, {}
  for name, lhs in pairs(keymaps) do
    local action = M.actions[name]
    if lhs and action then
      local nat = native_action(name)
      for _, mode in ipairs(action.modes) do
        local prev = vim.fn.maparg(lhs, mode, false, true)
        table.insert(previous, prev)
        local index = #previous
        vim.keymap.set(mode, lhs, function()
          if mode == "i" and nat and nat() then
            return ""
          end
          if action.when() then
            return ("<Cmd>lua require('spark.keymaps').run(%q)<CR>"):format(name)
          end
          return fallback(index, lhs)
        end, { expr = true, silent = true, desc = "spark: " .. name:gsub("_", " ") })
        table.insert(mapped, { mode = mode, lhs = lhs, previous = prev })
      end
    end
  end
end

return M
