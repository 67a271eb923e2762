--- The real server counts what the plugin tells it: a next edit shown (`spark/didShow`) and
--- dismissed with <C-]> (`spark/didReject`) is one shown and one rejected in `spark/stats`
--- (`kinds.nextEdit`), and nothing is accepted.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

local function stats(client)
  local response = client:request_sync("spark/stats", vim.NIL, 5000, 0)
  assert(response and not response.err, "spark/stats failed: " .. vim.inspect(response))
  return response.result
end

H.run(function()
  H.setup()
  local client = H.open("add.rs", "fn add(a: i32, b: i32) -> i32 {\n    let total = a + b;\n    sum\n}\n")
  vim.api.nvim_win_set_cursor(0, { 2, 8 })
  local next_edit = require("spark.next_edit")
  H.wait(function()
    return next_edit.visible()
  end, "the next edit", {
    every = function()
      H.feed("<M-n>")
    end,
    every_ms = 1000,
  })
  H.feed("<C-]>")
  H.eq(false, next_edit.visible(), "dismissed")
  local kinds = H.wait(function()
    local k = stats(client).kinds
    return k and k.nextEdit and k.nextEdit.rejected == 1 and k
  end, "the rejection in spark/stats", {
    shown = function()
      return stats(client)
    end,
  })
  H.eq(1, kinds.nextEdit.shown, "shown once")
  H.eq(0, kinds.nextEdit.accepted, "not accepted")
end)
