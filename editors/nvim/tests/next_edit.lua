--- A next-edit suggestion: <M-n> asks for it and previews it (the replaced text highlighted, the
--- new line as a virtual line), <Tab> in normal mode applies it.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

local function preview()
  local ns = require("spark.next_edit").ns
  local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  local removed, added = {}, {}
  for _, mark in ipairs(marks) do
    local d = mark[4]
    if d.hl_group == "SparkNextEditRemoved" then
      table.insert(removed, { mark[2], mark[3], d.end_row, d.end_col })
    end
    for _, line in ipairs(d.virt_lines or {}) do
      table.insert(added, line[1][1])
    end
  end
  return #marks > 0 and { removed = removed, added = added } or nil
end

H.run(function()
  H.setup()
  H.open("add.rs", "fn add(a: i32, b: i32) -> i32 {\n    let total = a + b;\n    sum\n}\n")
  vim.api.nvim_win_set_cursor(0, { 2, 8 })
  H.wait(function()
    return preview()
  end, "the next-edit preview", {
    every = function()
      H.feed("<M-n>")
    end,
    every_ms = 1000,
    shown = preview,
  })
  H.eq({ removed = { { 2, 4, 2, 7 } }, added = { "    total" } }, preview(), "the preview")
  H.eq({ "fn add(a: i32, b: i32) -> i32 {", "    let total = a + b;", "    sum", "}" }, H.lines(), "nothing applied yet")
  H.feed("<Tab>")
  H.eq({ "fn add(a: i32, b: i32) -> i32 {", "    let total = a + b;", "    total", "}" }, H.lines(), "applied")
  H.eq(nil, preview(), "the preview is gone")
end)
