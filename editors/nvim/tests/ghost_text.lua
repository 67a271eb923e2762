--- Ghost text from the real server: shown as an extmark while typing, typed through, accepted
--- by line, by word and whole; <Tab> without a suggestion is a plain <Tab>.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  H.setup()
  H.open("add.rs", "fn add(a: u32, b: u32) -> u32 {\n    \n}\n")
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  H.feed("A")

  -- Automatic trigger: the first line as soon as it exists, inline at the cursor, then (when the
  -- server streams partial results) the rest on virtual lines.
  local _, mark = H.wait_ghost({ "let sum = a + b;", "let sum = a + b;\n    sum * 2" })
  H.eq({ 1, 4 }, { mark.row, mark.col }, "the ghost text sits at the cursor")
  H.eq("inline", mark.details.virt_text_pos, "shown inline")

  -- Typing what the suggestion says keeps the rest, without a round trip: with requests held
  -- back, the plugin alone moves the ghost text along.
  local ghost = require("spark.ghost")
  local request = ghost.request
  ghost.request = function() end
  local shown = H.ghost()
  H.feed("let s")
  H.eq(shown:sub(#"let s" + 1), H.ghost(), "typed through")
  H.eq({ 1, 9 }, { select(2, H.ghost()).row, select(2, H.ghost()).col }, "at the new cursor")
  ghost.request = request
  H.wait_ghost({ "um = a + b;", "um = a + b;\n    sum * 2" })

  -- Accept the line: the rest of the answer comes from the server's cache, on virtual lines.
  H.feed("<M-l>")
  H.wait(function()
    return H.lines()[2] == "    let sum = a + b;"
  end, "the accepted line")
  H.wait_ghost("\n    sum * 2")

  -- Accept a word: the line break, the indentation and `sum`.
  H.feed("<M-w>")
  H.eq({ "fn add(a: u32, b: u32) -> u32 {", "    let sum = a + b;", "    sum", "}" }, H.lines(), "after accepting a word")
  H.eq(" * 2", H.ghost(), "the rest stays shown")
  H.eq({ 3, 7 }, vim.api.nvim_win_get_cursor(0), "the cursor follows the accepted text")

  -- Accept the rest with <Tab>.
  H.feed("<Tab>")
  H.eq({ "fn add(a: u32, b: u32) -> u32 {", "    let sum = a + b;", "    sum * 2", "}" }, H.lines(), "after <Tab>")

  -- Dismiss hides whatever is suggested next; then <Tab> is a plain <Tab> again.
  H.feed("<C-]>")
  H.eq(nil, H.ghost(), "dismissed")
  H.feed("<Tab>")
  H.eq("    sum * 2\t", H.lines()[3], "<Tab> inserts a tab when nothing is suggested")

  -- Leaving insert mode hides the ghost text.
  H.feed("<Esc>")
  H.eq(nil, H.ghost(), "no ghost text in normal mode")
end)
