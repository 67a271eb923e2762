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

  local messages = {}
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    table.insert(messages, { msg = msg, level = level })
    return notify(msg, level, opts)
  end
  local function shown(pattern)
    return vim.iter(messages):find(function(m)
      return m.msg:find(pattern, 1, true) ~= nil
    end)
  end

  H.setup()
  H.open("a.py", "x = 1\n")
  local warning = H.wait(function()
    return shown("provider.apiKeyCommand")
  end, "the warning about the untrusted file", { shown = function() return messages end })
  H.eq(vim.log.levels.WARN, warning.level, "a warning")
  assert(warning.msg:find(":Spark trust", 1, true), warning.msg)
  H.sleep(200)
  H.eq(nil, vim.uv.fs_stat(marker), "the untrusted command did not run")

  vim.cmd("Spark trust")
  H.wait(function()
    return vim.uv.fs_stat(marker)
  end, "the trusted command to run", { shown = function() return messages end })
  assert(shown("trusted "), vim.inspect(messages))
  local record = vim.fs.joinpath(assert(vim.env.XDG_STATE_HOME), "spark-lsp", "trusted.json")
  local text = table.concat(vim.fn.readfile(record), "\n")
  assert(text:find(vim.fs.joinpath(vim.uv.fs_realpath(dir), "spark-lsp.toml"), 1, true), text)
end)
