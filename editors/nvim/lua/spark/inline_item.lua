--- An inline completion item as ghost text at the cursor: what is left to insert once the text
--- already typed since its range's start is taken off; nil when it does not continue the line.
local M = {}

local position = require("spark.position")
local line_at, byte_col = position.line_at, position.byte_col

local function insert_text(item)
  local text = item.insertText
  if type(text) == "table" then
    -- A snippet: keep placeholders' default text, drop tab stops.
    text = (text.value or ""):gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", "")
  end
  return type(text) == "string" and text or nil
end

--- The part of `item` still to insert at the cursor, or nil when it does not continue the line.
--- @return spark.Suggestion|nil
function M.suggestion_of(item, bufnr, row, col, encoding)
  local text = insert_text(item)
  if not text or text == "" then
    return nil
  end
  local line = line_at(bufnr, row)
  local start_col, end_col = col, col
  if item.range then
    if item.range.start.line ~= row or item.range["end"].line ~= row then
      return nil
    end
    start_col = byte_col(line, item.range.start.character, encoding)
    end_col = byte_col(line, item.range["end"].character, encoding)
  end
  if start_col > col then
    return nil
  end
  -- Text between the range's start and the cursor must be what the suggestion starts with.
  local typed = line:sub(start_col + 1, col)
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  local rest = text:sub(#typed + 1)
  if rest == "" then
    return nil
  end
  return { row = row, col = col, text = rest, suffix_len = math.max(0, end_col - col), command = item.command }
end

return M
