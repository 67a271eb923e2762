--- LSP positions ↔ buffer byte columns, shared by the ghost text and the next-edit preview.
local M = {}

--- The text of line `row` (0-based) of `bufnr`, or "" past the end.
function M.line_at(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
end

--- Byte column of an LSP character offset in `line`, clamped to the line.
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and math.min(col, #line) or #line
end

return M
