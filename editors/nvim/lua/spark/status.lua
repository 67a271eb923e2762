--- The latest `spark/status` per client, for the status line (`require("spark").statusline()`).
local M = {}

--- @type table<integer, { busy: boolean, kind: string, message: string, provider?: string, lastLatencyMs?: number }>
M.by_client = {}

function M.update(client_id, params)
  M.by_client[client_id] = params
  -- Errors and warnings are worth a message once; the status line shows the rest.
  if params.kind == "Error" or params.kind == "Warning" then
    local level = params.kind == "Error" and vim.log.levels.ERROR or vim.log.levels.WARN
    if M.last_message ~= params.message then
      M.last_message = params.message
      vim.notify("spark-lsp: " .. params.message, level)
    end
  end
  vim.api.nvim_exec_autocmds("User", { pattern = "SparkStatus", modeline = false, data = params })
  vim.cmd.redrawstatus()
end

function M.text()
  local client = vim.lsp.get_clients({ name = "spark" })[1]
  if not client then
    return ""
  end
  local status = M.by_client[client.id]
  if not status then
    return "spark"
  end
  if status.kind == "Error" then
    return "spark ✗"
  elseif status.kind == "Warning" then
    return "spark !"
  elseif status.kind == "Inactive" then
    return "spark off"
  elseif status.busy then
    return "spark …"
  end
  local latency = status.lastLatencyMs and (" %dms"):format(math.floor(status.lastLatencyMs + 0.5)) or ""
  return "spark ✓" .. latency
end

return M
