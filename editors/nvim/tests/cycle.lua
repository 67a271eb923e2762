--- Cycling: with a next edit made for this version that continues the cursor's line, the
--- server answers with two items (the completion and the next edit); <M-]> and <M-[> show one
--- then the other, and <Tab> accepts the one shown.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  H.setup()
  H.open("add.rs", "fn add(a: i32, b: i32) -> i32 {\n    let sum = a + b;\n    sum\n}\n")
  vim.api.nvim_win_set_cursor(0, { 3, 6 })
  -- The next edit (the model's first answer): ` * 2` after `sum`.
  local next_edit = require("spark.next_edit")
  H.wait(function()
    return #vim.api.nvim_buf_get_extmarks(0, next_edit.ns, 0, -1, {}) > 0
  end, "the next-edit preview", {
    every = function()
      H.feed("<M-n>")
    end,
    every_ms = 1000,
  })
  -- Insert at the end of `sum`: the completion (the model's second answer) comes first.
  H.feed("A")
  H.wait_ghost(" + 1")
  H.feed("<M-]>")
  H.eq(" * 2", H.ghost(), "the next item: the next edit")
  H.feed("<M-]>")
  H.eq(" + 1", H.ghost(), "round again to the first")
  H.feed("<M-[>")
  H.eq(" * 2", H.ghost(), "back to the previous")
  H.feed("<Tab>")
  H.eq({ "fn add(a: i32, b: i32) -> i32 {", "    let sum = a + b;", "    sum * 2", "}" }, H.lines(), "the shown item accepted")
end)
