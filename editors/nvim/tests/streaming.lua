--- Partial results: while the model streams, `$/progress` carries the suggestion so far and the
--- ghost text grows with it; the final response completes it.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  H.setup()
  H.open("add.rs", "fn add(a: u32, b: u32) -> u32 {\n    \n}\n")
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  H.feed("A")
  -- Only a partial result reads like this: the final answer has the second line too.
  H.wait_ghost("let sum = a + b;\n")
  H.wait_ghost("let sum = a + b;\n    sum * 2")
end)
