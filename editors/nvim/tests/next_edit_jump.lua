--- Next edits elsewhere in the file, against the protocol (tests/fake_server.lua answers as
--- docs/protocol.md says): a `jump` is named at the cursor ("next edit: line 42"), <Tab> jumps
--- there and previews it, <Tab> again applies it and runs `spark.didAcceptNextEdit [uri, id]`,
--- then the next one is asked for at once (a chain). An edit off screen is named too. The server
--- hears `spark/didShow` and `spark/didReject` (<Esc>, the cursor leaving it; <C-]> on ghost
--- text); nothing is shown
--- while the completion menu is open; ghost text and a next edit are never both at the cursor.
local dir = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local H = dofile(dir .. "/helpers.lua")
local F = dofile(dir .. "/fake_server.lua")

local next_edit = require("spark.next_edit")

--- What the plugin shows: the hint's text and row, the rows the preview highlights.
local function shown()
  local hint, removed = nil, {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, next_edit.ns, 0, -1, { details = true })) do
    local d = mark[4]
    if d.virt_text then
      hint = { d.virt_text[1][1], mark[2] }
    end
    if d.hl_group == "SparkNextEditRemoved" then
      table.insert(removed, mark[2])
    end
  end
  return { hint = hint, removed = removed }
end

local function suggestion(uri, version, id, line, old, new, jump)
  local range = { start = { line = line, character = 4 }, ["end"] = { line = line, character = 4 + #old } }
  return {
    edits = { { range = range, newText = new, textDocument = { uri = uri, version = version } } },
    command = { title = "Accept next edit", command = "spark.didAcceptNextEdit", arguments = { uri, id } },
    id = id,
    intent = "high",
    location = { uri = uri, range = range },
    jump = jump,
  }
end

local function signal(uri, kind, id)
  return { textDocument = { uri = uri }, kind = kind, id = id }
end

H.run(function()
  F.setup()
  local lines = {}
  for i = 1, 60 do
    lines[i] = ("let v%d = %d;"):format(i, i)
  end
  H.open("jump.rs", table.concat(lines, "\n") .. "\n")
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local function version()
    return vim.lsp.util.buf_versions[bufnr]
  end

  -- A jump: named at the cursor, announced once.
  table.insert(F.next_edits, suggestion(uri, version(), "ne-1", 41, "v42", "w42", true))
  H.feed("<M-n>")
  H.wait(function()
    return shown().hint
  end, "the jump hint", { shown = shown })
  H.eq({ hint = { "next edit: line 42", 0 }, removed = {} }, shown(), "named at the cursor, not previewed")
  H.eq({ signal(uri, "nextEdit", "ne-1") }, F.sent("spark/didShow"), "didShow")

  -- <Tab> jumps there and previews it; nothing changes yet, nothing is rejected by the move.
  H.feed("<Tab>")
  H.eq({ 42, 4 }, vim.api.nvim_win_get_cursor(0), "the cursor at the edit")
  H.eq({ hint = nil, removed = { 41 } }, shown(), "the preview")
  H.eq(lines, H.lines(), "nothing applied yet")

  -- <Tab> again applies it and tells the server; the next one is asked for at once. It lies off
  -- screen (line 5, seen from line 42), so it is named even without `jump`.
  table.insert(F.next_edits, function(params)
    return suggestion(uri, params.textDocument.version, "ne-2", 4, "v5", "w5", nil)
  end)
  local answers = F.next_edit_answers
  H.feed("<Tab>")
  lines[42] = "let w42 = 42;"
  H.eq(lines, H.lines(), "applied")
  H.wait(function()
    return #F.commands == 1
  end, "the accept command")
  H.eq({ command = "spark.didAcceptNextEdit", arguments = { uri, "ne-1" } }, F.commands[1], "accepted with its id")
  H.wait(function()
    return F.next_edit_answers > answers and shown().hint
  end, "the chained next edit", { shown = shown })
  H.eq({ hint = { "next edit: line 5", 41 }, removed = {} }, shown(), "off screen: named")

  -- <Esc> dismisses it: rejected at once.
  H.feed("<Esc>")
  H.eq({ hint = nil, removed = {} }, shown(), "dismissed")
  H.eq({ signal(uri, "nextEdit", "ne-2") }, F.sent("spark/didReject"), "didReject")
  H.eq(lines, H.lines(), "not applied")

  -- One near the cursor is previewed in place; the cursor leaving it after it was seen rejects it.
  table.insert(F.next_edits, suggestion(uri, version(), "ne-3", 42, "v43", "w43", nil))
  H.feed("<M-n>")
  H.wait(function()
    return #shown().removed > 0
  end, "the in-place preview", { shown = shown })
  H.eq({ hint = nil, removed = { 42 } }, shown(), "previewed in place")
  H.sleep(1100)
  H.feed("10k")
  H.eq({ hint = nil, removed = {} }, shown(), "gone when the cursor left")
  H.eq(signal(uri, "nextEdit", "ne-3"), F.sent("spark/didReject")[2], "didReject after moving away")

  -- The completion menu is open: the answer is not shown (and not announced).
  table.insert(F.next_edits, suggestion(uri, version(), "ne-4", 31, "v32", "w32", nil))
  answers = F.next_edit_answers
  H.feed("o")
  H.feed("<Cmd>call complete(1, ['alpha', 'beta'])<CR>")
  H.wait(function()
    return vim.fn.pumvisible() == 1
  end, "the completion menu")
  H.feed("<M-n>")
  H.wait(function()
    return F.next_edit_answers > answers
  end, "the answer")
  H.eq({ hint = nil, removed = {} }, shown(), "not shown over the menu")
  H.eq(3, #F.sent("spark/didShow"), "not announced")
  H.feed("<C-e><Esc>u")
  H.eq(lines, H.lines(), "back to the file")

  -- Ghost text at the cursor replaces a next edit shown there, and the other way round.
  vim.api.nvim_win_set_cursor(0, { 20, 0 })
  table.insert(F.next_edits, suggestion(uri, version(), "ne-5", 19, "v20", "w20", nil))
  H.feed("<M-n>")
  H.wait(function()
    return #shown().removed > 0
  end, "the preview on line 20", { shown = shown })
  table.insert(F.inline, {
    items = { { insertText = " // ok", command = { title = "Accept", command = "spark.didAccept", arguments = { uri, "in-1" } } } },
  })
  H.feed("A")
  H.wait_ghost(" // ok")
  H.eq({ hint = nil, removed = {} }, shown(), "the next edit gave way to the ghost text")
  H.eq(signal(uri, "inline", "in-1"), F.sent("spark/didShow")[5], "the ghost text is announced")
  H.feed("<C-]>")
  H.eq(nil, H.ghost(), "the ghost text dismissed")
  H.eq(signal(uri, "inline", "in-1"), F.sent("spark/didReject")[3], "and rejected")
  -- Typing asks on every key; whichever request comes last gets the answer too.
  for _ = 1, 5 do
    table.insert(F.inline, {
      items = { { insertText = "ok", command = { title = "Accept", command = "spark.didAccept", arguments = { uri, "in-2" } } } },
    })
  end
  H.feed(" // ")
  H.wait_ghost("ok")
  table.insert(F.next_edits, suggestion(uri, version(), "ne-6", 9, "v10", "w10", true))
  H.feed("<M-n>")
  H.wait(function()
    return shown().hint
  end, "the jump hint in insert mode", { shown = shown })
  H.eq(nil, H.ghost(), "the ghost text gave way to the next edit")
end)
