--- `:Spark trust`: the project's spark-lsp.toml sets a command that would create a marker file.
--- Untrusted, the server names the ignored key in a warning and the command never runs; after
--- `:Spark trust` the trust is recorded in $XDG_STATE_HOME and the command runs at once.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  local dir = assert(vim.env.SPARK_TEST_DIR)
  local marker = vim.fs.joinpath(dir, "marker")
  local toml = assert(io.open(vim.fs.joinpath(dir, "spark-lsp.toml"), "w"))
  toml:write(('[provider]\napiKeyCommand = ["sh", "-c", "touch \'%s\'; echo $SPARK_E2E_KEY"]\n'):format(marker))
  toml:close()

  -- Neovim echoes `window/showMessage` into the message history; errors of `:Spark trust` go
  -- through vim.notify.
  local notified = {}
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    table.insert(notified, msg)
    return notify(msg, level, opts)
  end
  local function messages()
    return vim.fn.execute("messages") .. "\n" .. table.concat(notified, "\n")
  end
  local function shown(pattern)
    return messages():find(pattern, 1, true) ~= nil
  end

  H.setup()
  local client = H.open("a.py", "x = 1\n")
  H.wait(function()
    return shown("provider.apiKeyCommand")
  end, "the warning about the untrusted file", { shown = messages })
  assert(shown("[Warning] spark-lsp: the workspace file"), messages())
  assert(shown(":Spark trust"), messages())
  -- Once the provider is built, the command would have run.
  local status = H.wait(function()
    local status = require("spark.status").by_client[client.id]
    return status and status.provider and status
  end, "the provider")
  H.eq({ "provider.apiKeyCommand" }, status.untrustedConfig.keys, "spark/status names the ignored key")
  H.eq(nil, vim.uv.fs_stat(marker), "the untrusted command did not run")

  vim.cmd("Spark trust")
  H.wait(function()
    return vim.uv.fs_stat(marker)
  end, "the trusted command to run", { shown = messages })
  H.wait(function()
    return shown("all its settings apply")
  end, "the server's confirmation", { shown = messages })
  local record = vim.fs.joinpath(assert(vim.env.XDG_STATE_HOME), "spark-lsp", "trusted.json")
  local text = table.concat(vim.fn.readfile(record), "\n")
  assert(text:find(vim.fs.joinpath(vim.uv.fs_realpath(dir), "spark-lsp.toml"), 1, true), text)
end)
