--- Next-edit suggestions (`spark/nextEdit`): the edit the model expects next, anywhere near the
--- cursor. Shown as a preview (the replaced text highlighted, the resulting lines as virtual
--- lines below it) and applied with one key; any change to the buffer drops the preview.
local M = {}

local ns = vim.api.nvim_create_namespace("spark.next_edit")
local group = vim.api.nvim_create_augroup("spark.next_edit", { clear = true })

--- @type table<integer, { result: table, tick: integer, client_id: integer }>
local pending = {}

local position = require("spark.position")
local line_at, byte_col = position.line_at, position.byte_col

function M.visible(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return pending[bufnr] ~= nil
end

function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  pending[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  end
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

--- Shows `result` (a `spark/nextEdit` result) as a preview in `bufnr`.
function M.preview(bufnr, client, result)
  M.dismiss(bufnr)
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
  pending[bufnr] = { result = result, tick = vim.b[bufnr].changedtick, client_id = client.id }
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  vim.api.nvim_create_autocmd({ "TextChanged", "TextChangedI", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    once = true,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
end

--- Asks for the next edit at the cursor and previews it; `on_done(shown)` is called after.
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
    elseif result and result.edits and #result.edits > 0 and vim.lsp.util.buf_versions[bufnr] == version then
      local current = vim.iter(result.edits):all(function(e)
        return e.textDocument == nil or e.textDocument.version == version
      end)
      if current then
        M.preview(bufnr, client, result)
        shown = true
      end
    end
    if on_done then
      on_done(shown)
    end
  end, bufnr)
end

--- Applies the previewed edit and tells the server; false when there is none (or it is stale).
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  local p = pending[bufnr]
  M.dismiss(bufnr)
  local client = p and vim.lsp.get_client_by_id(p.client_id)
  if not p or not client or vim.b[bufnr].changedtick ~= p.tick then
    return false
  end
  vim.lsp.util.apply_text_edits(p.result.edits, bufnr, client.offset_encoding)
  if p.result.command then
    client:exec_cmd(p.result.command, { bufnr = bufnr })
  end
  return true
end

M.ns = ns

return M
