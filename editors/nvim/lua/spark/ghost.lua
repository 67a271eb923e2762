--- Ghost text for Neovim before 0.12 (0.12+ uses `vim.lsp.inline_completion`): asks for
--- `textDocument/inlineCompletion` as the user types, renders the suggestion with extmarks
--- (inline virtual text for the cursor line, virtual lines for the rest), updates it from
--- `$/progress` partial results and as the user types through it, and accepts it whole, by
--- word or by line.
local M = {}

local ns = vim.api.nvim_create_namespace("spark.ghost")
local group = vim.api.nvim_create_augroup("spark.ghost", { clear = true })

--- @class spark.Suggestion
--- @field row integer      0-based line of the cursor the suggestion continues
--- @field col integer      byte column of that cursor
--- @field text string      what would be inserted at the cursor
--- @field suffix_len integer bytes after the cursor that the suggestion replaces
--- @field command table|nil the item's command, executed after a full accept

--- @class spark.BufferState
--- @field client_id integer
--- @field request_id integer|nil
--- @field token string|nil partialResultToken of the request in flight
--- @field tick integer     b:changedtick the suggestion (or the request) belongs to
--- @field items spark.Suggestion[]
--- @field index integer
--- @field suggestion spark.Suggestion|nil

--- @type table<integer, spark.BufferState>
local buffers = {}
local next_token = 0

local function hl_group()
  return require("spark.config").options.ghost_text.hl_group
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local line_at = require("spark.position").line_at
local signals = require("spark.signals")
local suggestion_of = require("spark.inline_item").suggestion_of

local function render(bufnr, sug)
  vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  if not sug then
    return
  end
  local hl = hl_group()
  local lines = vim.split(sug.text, "\n", { plain = true })
  local opts = { hl_mode = "combine", right_gravity = false }
  if lines[1] ~= "" then
    opts.virt_text = { { lines[1], hl } }
    opts.virt_text_pos = "inline"
  end
  if #lines > 1 then
    opts.virt_lines = vim.tbl_map(function(l)
      return { { l, hl } }
    end, vim.list_slice(lines, 2))
  end
  vim.api.nvim_buf_set_extmark(bufnr, ns, sug.row, sug.col, opts)
end

local function set_suggestion(bufnr, sug)
  local state = buffers[bufnr]
  if not state then
    return
  end
  state.suggestion = sug
  render(bufnr, sug)
end

--- Shows a new item (an answer, or another one cycled to) and tells the server. One suggestion
--- at the cursor: the ghost text replaces a next edit shown there.
local function present(bufnr, state, sug)
  set_suggestion(bufnr, sug)
  require("spark.next_edit").dismiss(bufnr, "moved")
  signals.shown_once(state, bufnr, sug.command, ("%d:%d:%d"):format(sug.row, sug.col, state.tick))
end

--- Hides the suggestion (and forgets the items).
function M.clear(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local state = buffers[bufnr]
  if state then
    state.items, state.index = {}, 1
  end
  set_suggestion(bufnr, nil)
end

--- Hides the suggestion because the user dismissed it, and tells the server.
function M.dismiss(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local state, sug = buffers[bufnr], M.current(bufnr)
  if sug then
    signals.rejected(state.client_id, bufnr, signals.kind_of(sug.command), signals.command_id(sug.command))
  end
  M.clear(bufnr)
end

local function client_of(state)
  return state and vim.lsp.get_client_by_id(state.client_id)
end

local function cancel(state)
  local client = client_of(state)
  if state.request_id and client then
    client:cancel_request(state.request_id)
  end
  state.request_id, state.token = nil, nil
end

local function items_of(result)
  if type(result) ~= "table" then
    return {}
  end
  return result.items or result
end

--- Shows the items of a (partial or final) result when the buffer is still where it was asked.
local function show(bufnr, state, result, row, col, tick)
  if vim.api.nvim_get_current_buf() ~= bufnr or vim.fn.mode() ~= "i" then
    return
  end
  local now_row, now_col = cursor()
  if vim.b[bufnr].changedtick ~= tick or now_row ~= row or now_col ~= col then
    return
  end
  local client = client_of(state)
  local suggestions = {}
  for _, item in ipairs(items_of(result)) do
    local sug = suggestion_of(item, bufnr, row, col, client and client.offset_encoding or "utf-16")
    if sug then
      table.insert(suggestions, sug)
    end
  end
  if #suggestions == 0 then
    -- Keep what the user is typing through; the server had nothing better.
    return
  end
  state.items = suggestions
  state.index = math.min(state.index or 1, #suggestions)
  state.tick = tick
  present(bufnr, state, suggestions[state.index])
end

--- Asks the server for a suggestion at the cursor; `invoked` for an explicit request (the
--- server then answers with the whole suggestion instead of the first line first).
function M.request(bufnr, invoked)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local state = buffers[bufnr]
  local client = client_of(state)
  if not client then
    return
  end
  cancel(state)
  next_token = next_token + 1
  local token = ("spark-inline-%d"):format(next_token)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = invoked and 1 or 2 }
  params.partialResultToken = token
  local row, col = cursor()
  local tick = vim.b[bufnr].changedtick
  state.token = token
  state.partial_at = { row = row, col = col, tick = tick }
  local ok, id
  ok, id = client:request("textDocument/inlineCompletion", params, function(err, result)
    if state.request_id == id then
      state.request_id, state.token = nil, nil
    end
    if err then
      return
    end
    show(bufnr, state, result, row, col, tick)
  end, bufnr)
  if ok then
    state.request_id = id
  end
end

--- `$/progress` with a partial inline-completion result: the suggestion so far. Returns true
--- when the token was one of ours.
function M.on_partial(params, _ctx)
  if type(params.token) ~= "string" or not params.token:match("^spark%-inline%-") then
    return false
  end
  for bufnr, state in pairs(buffers) do
    if state.token == params.token and state.partial_at then
      local at = state.partial_at
      show(bufnr, state, params.value, at.row, at.col, at.tick)
    end
  end
  return true
end

--- After a change in insert mode: keep the part of the suggestion the user has not typed yet,
--- then ask again (the server answers from its cache, or streams a new suggestion).
local function on_text_changed(bufnr)
  local state = buffers[bufnr]
  if not state then
    return
  end
  local sug = state.suggestion
  local row, col = cursor()
  if sug then
    local typed = row == sug.row and col > sug.col and line_at(bufnr, row):sub(sug.col + 1, col) or nil
    if typed and sug.text:sub(1, #typed) == typed then
      sug.text, sug.col = sug.text:sub(#typed + 1), col
      state.items, state.index = { sug }, 1
      set_suggestion(bufnr, sug.text ~= "" and sug or nil)
    elseif not (row == sug.row and col == sug.col) then
      M.clear(bufnr)
    end
  end
  state.tick = vim.b[bufnr].changedtick
  M.request(bufnr, false)
end

--- The suggestion shown in the current buffer, if any.
--- @return spark.Suggestion|nil
function M.current(bufnr)
  local state = buffers[bufnr or vim.api.nvim_get_current_buf()]
  return state and state.suggestion
end

function M.visible(bufnr)
  return M.current(bufnr) ~= nil
end

--- Inserts `text` at the suggestion's cursor (replacing its suffix when `replace`) and moves the
--- cursor after it.
local function insert(bufnr, sug, text, replace)
  local lines = vim.split(text, "\n", { plain = true })
  local end_col = sug.col + (replace and sug.suffix_len or 0)
  vim.api.nvim_buf_set_text(bufnr, sug.row, sug.col, sug.row, end_col, lines)
  local row = sug.row + #lines - 1
  local col = (#lines == 1 and sug.col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  return row, col
end

local function notify_accept(state, bufnr, text)
  local client = client_of(state)
  if client then
    client:notify("spark/didAccept", { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, insertText = text })
  end
end

--- Accepts the whole suggestion; false when none is shown.
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  local state, sug = buffers[bufnr], M.current(bufnr)
  if not sug then
    return false
  end
  M.clear(bufnr)
  insert(bufnr, sug, sug.text, true)
  local client = client_of(state)
  if sug.command and client then
    client:exec_cmd(sug.command, { bufnr = bufnr })
  else
    notify_accept(state, bufnr, nil)
  end
  return true
end

--- Accepts the first `piece` of the suggestion and keeps showing the rest.
local function accept_part(piece)
  local bufnr = vim.api.nvim_get_current_buf()
  local state, sug = buffers[bufnr], M.current(bufnr)
  if not sug or piece == "" then
    return false
  end
  if piece == sug.text then
    return M.accept()
  end
  local row, col = insert(bufnr, sug, piece, false)
  sug.text, sug.row, sug.col = sug.text:sub(#piece + 1), row, col
  state.items, state.index = { sug }, 1
  set_suggestion(bufnr, sug)
  notify_accept(state, bufnr, piece)
  return true
end

--- The next word of `text`: leading white space (line breaks included) and one word, or one run
--- of punctuation.
function M.next_word(text)
  local space = text:match("^%s*")
  local rest = text:sub(#space + 1)
  local word = rest:match("^[%w_]+") or rest:match("^[^%w_%s]+") or ""
  return space .. word
end

--- The rest of the current line of `text`; when that is empty, the line break and the next line.
function M.next_line(text)
  local first = text:match("^[^\n]*")
  if first ~= "" then
    return first
  end
  return text:match("^\n[^\n]*") or text
end

function M.accept_word()
  local sug = M.current()
  return sug ~= nil and accept_part(M.next_word(sug.text))
end

function M.accept_line()
  local sug = M.current()
  return sug ~= nil and accept_part(M.next_line(sug.text))
end

--- Shows the next (or with `step = -1` the previous) item; asks the server when there is only one.
function M.cycle(step)
  local bufnr = vim.api.nvim_get_current_buf()
  local state = buffers[bufnr]
  if not state then
    return
  end
  if #state.items <= 1 then
    M.request(bufnr, true)
    return
  end
  state.index = (state.index - 1 + step) % #state.items + 1
  present(bufnr, state, state.items[state.index])
end

--- Starts ghost text for `bufnr` served by `client`.
function M.attach(client, bufnr)
  if buffers[bufnr] then
    buffers[bufnr].client_id = client.id
    return
  end
  buffers[bufnr] = { client_id = client.id, tick = vim.b[bufnr].changedtick, items = {}, index = 1 }
  local function on(events, callback)
    vim.api.nvim_create_autocmd(events, { group = group, buffer = bufnr, callback = callback })
  end
  on("InsertEnter", function()
    -- After the event the cursor is where insert mode starts (`A` moves it to the line's end).
    vim.schedule(function()
      if vim.fn.mode() == "i" and vim.api.nvim_get_current_buf() == bufnr then
        M.request(bufnr, false)
      end
    end)
  end)
  on("TextChangedI", function()
    on_text_changed(bufnr)
  end)
  on("CursorMovedI", function()
    -- Typing moves the cursor too; TextChangedI handles that. Pure movement hides the suggestion.
    local state, sug = buffers[bufnr], M.current(bufnr)
    if not sug or vim.b[bufnr].changedtick ~= state.tick then
      return
    end
    local row, col = cursor()
    if row ~= sug.row or col ~= sug.col then
      M.clear(bufnr)
    end
  end)
  on({ "InsertLeave", "BufLeave" }, function()
    cancel(buffers[bufnr])
    M.clear(bufnr)
  end)
  on("LspDetach", function(args)
    if args.data and args.data.client_id == buffers[bufnr].client_id then
      M.detach(bufnr)
    end
  end)
end

function M.detach(bufnr)
  if buffers[bufnr] then
    cancel(buffers[bufnr])
  end
  M.clear(bufnr)
  buffers[bufnr] = nil
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
end

--- The namespace of the ghost-text extmarks (tests and statuslines read it).
M.ns = ns

return M
