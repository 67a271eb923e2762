--- Next-edit suggestions (`spark/nextEdit`): the edit the model expects next. One near the cursor
--- is shown as a preview (the replaced text highlighted, the resulting lines as virtual lines
--- below it) and applied with one key. One elsewhere (the server says `jump`, or it is off
--- screen) is first named at the cursor ("next edit: line 42"); the key jumps there and
--- previews it, a second press applies it. The server hears what became of it
--- (`spark/didShow`, `spark/didReject`, `spark.didAcceptNextEdit`).
local M = {}

local ns = vim.api.nvim_create_namespace("spark.next_edit")
local group = vim.api.nvim_create_augroup("spark.next_edit", { clear = true })

local position = require("spark.position")
local signals = require("spark.signals")
local line_at, byte_col = position.line_at, position.byte_col

--- A rejection by moving on counts once the suggestion was on screen this long (docs/protocol.md).
local SEEN_MS = 1000

--- @class spark.NextEdit
--- @field result table          the `spark/nextEdit` result
--- @field tick integer          b:changedtick it belongs to
--- @field client_id integer
--- @field stage "jump"|"preview"
--- @field rows integer[]        0-based first and last row the cursor may move in without leaving it
--- @field shown_at integer      vim.uv.now() when it was first shown

--- @type table<integer, spark.NextEdit>
local pending = {}

function M.visible(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return pending[bufnr] ~= nil
end

--- The suggestion shown in `bufnr` (tests and statuslines read it).
--- @return spark.NextEdit|nil
function M.current(bufnr)
  return pending[bufnr or vim.api.nvim_get_current_buf()]
end

local function clear(bufnr)
  pending[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  end
  pcall(vim.api.nvim_clear_autocmds, { group = group, buffer = bufnr })
end

--- Hides the suggestion. `reason`: "rejected" (the dismiss key, replaced by another) tells the
--- server at once; "moved" (the cursor left it) only once it was seen; nil (the buffer changed,
--- the completion menu opened) tells nothing: the server sees edits itself.
--- @param reason "rejected"|"moved"|nil
function M.dismiss(bufnr, reason)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local p = pending[bufnr]
  clear(bufnr)
  if p and reason and (reason == "rejected" or vim.uv.now() - p.shown_at >= SEEN_MS) then
    signals.rejected(p.client_id, bufnr, "nextEdit", p.result.id)
  end
end

--- The span of the edits: the first edit's start and the last one's end (LSP positions), and
--- the document they are in.
local function span(result)
  local first, last = result.edits[1], result.edits[#result.edits]
  local uri = first.textDocument and first.textDocument.uri
  return uri, first.range.start, last.range["end"]
end

--- The lines the edit produces, from the start of its first line to the end of its last.
local function resulting_lines(bufnr, edit, encoding)
  local first, last = edit.range.start.line, edit.range["end"].line
  local first_line, last_line = line_at(bufnr, first), line_at(bufnr, last)
  local start_col = byte_col(first_line, edit.range.start.character, encoding)
  local end_col = byte_col(last_line, edit.range["end"].character, encoding)
  local text = first_line:sub(1, start_col) .. edit.newText .. last_line:sub(end_col + 1)
  return vim.split(text, "\n", { plain = true }), start_col, end_col
end

--- Dismisses the suggestion when the buffer changes, the cursor leaves `p.rows`, the buffer is
--- left or the completion menu opens.
local function watch(bufnr, p)
  local function on(events, callback)
    vim.api.nvim_create_autocmd(events, { group = group, buffer = bufnr, callback = callback })
  end
  on({ "TextChanged", "TextChangedI", "CompleteChanged" }, function(args)
    -- TextChanged of the change it was asked after can come once it is shown already.
    if args.event == "CompleteChanged" or vim.b[bufnr].changedtick ~= p.tick then
      M.dismiss(bufnr)
    end
  end)
  on({ "CursorMoved", "CursorMovedI", "BufLeave" }, function(args)
    local row = vim.api.nvim_win_get_cursor(0)[1] - 1
    if args.event == "BufLeave" or row < p.rows[1] or row > p.rows[2] then
      M.dismiss(bufnr, "moved")
    end
  end)
end

local function keep(bufnr, client, result, stage, rows, shown_at)
  local p = {
    result = result,
    tick = vim.b[bufnr].changedtick,
    client_id = client.id,
    stage = stage,
    rows = rows,
    shown_at = shown_at or vim.uv.now(),
  }
  pending[bufnr] = p
  watch(bufnr, p)
  return p
end

--- Shows `result`'s edits as a preview in `bufnr`. `shown_at` carries the time it was first
--- shown when the preview follows a jump.
function M.preview(bufnr, client, result, shown_at)
  clear(bufnr)
  local encoding = client.offset_encoding
  for _, edit in ipairs(result.edits) do
    local lines, start_col, end_col = resulting_lines(bufnr, edit, encoding)
    local first, last = edit.range.start.line, edit.range["end"].line
    vim.api.nvim_buf_set_extmark(bufnr, ns, first, start_col, {
      end_row = last,
      end_col = end_col,
      hl_group = "SparkNextEditRemoved",
    })
    vim.api.nvim_buf_set_extmark(bufnr, ns, last, 0, {
      virt_lines = vim.tbl_map(function(l)
        return { { l, "SparkNextEditAdded" } }
      end, lines),
    })
  end
  local _, from, to = span(result)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  keep(bufnr, client, result, "preview", { math.min(row, from.line), math.max(row, to.line) }, shown_at)
end

--- The hint at the cursor naming where the edit is: "next edit: line 42" (or "file.rs:42").
function M.where(bufnr, result)
  local uri, from = span(result)
  local line = from.line + 1
  if uri and uri ~= vim.uri_from_bufnr(bufnr) then
    return ("next edit: %s:%d"):format(vim.fs.basename(vim.uri_to_fname(uri)), line)
  end
  return ("next edit: line %d"):format(line)
end

local function show_hint(bufnr, client, result)
  clear(bufnr)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  vim.api.nvim_buf_set_extmark(bufnr, ns, row, 0, {
    virt_text = { { M.where(bufnr, result), "SparkNextEditJump" } },
    virt_text_pos = "eol",
    hl_mode = "combine",
  })
  keep(bufnr, client, result, "jump", { row, row })
end

--- Whether `result` is shown by name rather than in place: the server says it is a jump, it is
--- in another document, or it is off screen.
local function is_jump(bufnr, result)
  local uri, from, to = span(result)
  if result.jump == true or (uri and uri ~= vim.uri_from_bufnr(bufnr)) then
    return true
  end
  return from.line < vim.fn.line("w0") - 1 or to.line > vim.fn.line("w$") - 1
end

--- Whether two results are the same suggestion (asked again while it is shown).
local function same(a, b)
  if a.id ~= nil or b.id ~= nil then
    return a.id == b.id
  end
  return vim.deep_equal(a.edits, b.edits)
end

--- Shows `result` in `bufnr` (the current buffer): as a preview, or by name when it is a jump.
--- Nothing is shown while the completion menu is open; ghost text at the cursor gives way.
--- @return boolean shown
function M.show(bufnr, client, result)
  if vim.fn.pumvisible() == 1 then
    return false
  end
  local shown = pending[bufnr]
  if shown and same(shown.result, result) then
    return true
  end
  M.dismiss(bufnr, "rejected")
  require("spark.ghost").clear(bufnr)
  if is_jump(bufnr, result) then
    show_hint(bufnr, client, result)
  else
    M.preview(bufnr, client, result)
  end
  signals.shown(client.id, bufnr, "nextEdit", result.id)
  return true
end

--- Moves to the named edit (opening its document when it is another) and previews it there.
local function jump(bufnr, p)
  local client = vim.lsp.get_client_by_id(p.client_id)
  clear(bufnr)
  if not client then
    return false
  end
  local uri, from = span(p.result)
  uri = uri or vim.uri_from_bufnr(bufnr)
  vim.lsp.util.show_document({ uri = uri, range = { start = from, ["end"] = from } }, client.offset_encoding, { focus = true })
  local target = vim.uri_to_bufnr(uri)
  local version = p.result.edits[1].textDocument and p.result.edits[1].textDocument.version
  if target == bufnr and vim.b[bufnr].changedtick ~= p.tick then
    return false
  end
  if target ~= bufnr and version ~= vim.lsp.util.buf_versions[target] then
    -- Another document at another version: the user is there; asking again shows what applies.
    return false
  end
  M.preview(target, client, p.result, p.shown_at)
  return true
end

local function is_position(p)
  return type(p) == "table" and type(p.line) == "number" and type(p.character) == "number"
end

--- Whether `result` holds edits the plugin can show (the server's answer is checked, not
--- trusted); a malformed one is logged and ignored.
function M.well_formed(result)
  if type(result) ~= "table" or type(result.edits) ~= "table" or #result.edits == 0 then
    return false
  end
  for _, e in ipairs(result.edits) do
    local r = type(e) == "table" and e.range
    if type(r) ~= "table" or not is_position(r.start) or not is_position(r["end"]) or type(e.newText) ~= "string" then
      vim.lsp.log.warn("spark: ignoring a malformed next edit", result)
      return false
    end
  end
  if result.id ~= nil and type(result.id) ~= "string" then
    return false
  end
  return true
end

--- Asks for the next edit at the cursor and shows it; `on_done(shown)` is called after.
function M.request(on_done)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = "spark" })[1]
  if not client then
    return
  end
  local version = vim.lsp.util.buf_versions[bufnr]
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.textDocument.version = version
  client:request("spark/nextEdit", params, function(err, result)
    local shown = false
    if err then
      vim.notify("spark-lsp: next edit: " .. err.message, vim.log.levels.WARN)
    elseif
      M.well_formed(result)
      and vim.lsp.util.buf_versions[bufnr] == version
      and vim.api.nvim_get_current_buf() == bufnr
    then
      local uri = vim.uri_from_bufnr(bufnr)
      local current = vim.iter(result.edits):all(function(e)
        local doc = e.textDocument
        return doc == nil or doc.uri ~= uri or doc.version == version
      end)
      if current then
        shown = M.show(bufnr, client, result)
      end
    end
    if on_done then
      on_done(shown)
    end
  end, bufnr)
end

--- The command that tells the server the edit was applied: the result's own, or one built from
--- its id.
local function accept_command(bufnr, result)
  if type(result.command) == "table" then
    return result.command
  end
  local args = { vim.uri_from_bufnr(bufnr), result.id }
  return { title = "Accept next edit", command = "spark.didAcceptNextEdit", arguments = args }
end

--- The key's action: jumps to a named edit (and previews it), or applies the preview and tells
--- the server, then asks for the edit after it (the server has it ready: Tab, Tab, Tab).
--- False when there is nothing (or it is stale).
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  local p = pending[bufnr]
  if p and p.stage == "jump" then
    return jump(bufnr, p)
  end
  clear(bufnr)
  local client = p and vim.lsp.get_client_by_id(p.client_id)
  if not p or not client or vim.b[bufnr].changedtick ~= p.tick then
    return false
  end
  vim.lsp.util.apply_text_edits(p.result.edits, bufnr, client.offset_encoding)
  client:exec_cmd(accept_command(bufnr, p.result), { bufnr = bufnr })
  if vim.fn.mode() == "n" then
    M.request()
  end
  return true
end

M.ns = ns

return M
