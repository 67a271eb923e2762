--- Neovim 0.12+'s path, run on 0.11 with a stand-in `vim.lsp.inline_completion` that records
--- its calls (the API of Neovim 0.12: `enable(enable, filter)`, `select({ count })`, `get()`
--- returning whether it accepted): the plugin enables it for the buffer instead of rendering
--- ghost text itself, and its keys go to it, falling back to the key when nothing is shown.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  local calls, shown = {}, true
  vim.lsp.inline_completion = {
    enable = function(enable, filter)
      table.insert(calls, { "enable", enable, filter and filter.bufnr })
    end,
    select = function(opts)
      table.insert(calls, { "select", opts.count })
    end,
    get = function()
      table.insert(calls, { "get" })
      return shown
    end,
  }
  H.setup()
  H.open("native.txt", "notes\n")
  H.eq({ { "enable", true, vim.api.nvim_get_current_buf() } }, calls, "enabled for the buffer")

  vim.bo.expandtab, vim.bo.softtabstop = false, 0
  H.feed("o")
  H.feed("<M-]>")
  H.feed("<M-[>")
  H.feed("<Tab>")
  H.eq({ { "select", 1 }, { "select", -1 }, { "get" } }, vim.list_slice(calls, 2), "keys go to the native API")
  H.eq("", H.lines()[2], "an accepted suggestion is the native API's to insert, not a <Tab>")
  H.eq(nil, H.ghost(), "no ghost text of the plugin's own")

  shown = false
  H.feed("x<Tab>")
  H.eq("x\t", H.lines()[2], "nothing shown: <Tab> is a <Tab>")
end)
