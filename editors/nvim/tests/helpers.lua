--- Test driver for headless Neovim, run by tests/tests/neovim.rs:
---   nvim --headless -u NONE -i NONE -n -c "luafile editors/nvim/tests/<test>.lua"
--- Each test runs as a coroutine that yields to Neovim's main loop between steps, so typed keys
--- go through the real input path (mappings, insert mode, TextChangedI). The outcome goes to
--- $SPARK_TEST_RESULT: "OK", or "FAIL" and the error with its traceback.
local H = {}

H.plugin = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h:h")
vim.opt.runtimepath:prepend(H.plugin)
vim.cmd("filetype on")
vim.cmd("runtime plugin/spark.lua")
vim.o.swapfile = false
vim.o.expandtab = false
vim.o.shiftwidth = 4

if vim.env.SPARK_TEST_DEBUG then
  vim.lsp.set_log_level("debug")
end

local result_file = assert(vim.env.SPARK_TEST_RESULT, "SPARK_TEST_RESULT is not set")

local function finish(text)
  local file = assert(io.open(result_file, "w"))
  file:write(text)
  file:close()
  vim.schedule(function()
    vim.cmd("stopinsert")
    vim.cmd("qall!")
  end)
end

--- Lets Neovim run (input, autocommands, LSP messages) for `ms` milliseconds.
function H.sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      finish("FAIL\n" .. debug.traceback(co, tostring(err)))
    end
  end, ms)
  coroutine.yield()
end

--- Waits until `cond()` is truthy; `every` (optional) runs each `every_ms` while waiting.
function H.wait(cond, what, opts)
  opts = opts or {}
  local timeout = opts.timeout or 20000
  local waited, since = 0, 0
  while true do
    local value = cond()
    if value then
      return value
    end
    if waited >= timeout then
      error(("timed out after %d ms waiting for %s%s"):format(timeout, what, opts.shown and (" (shown: " .. vim.inspect(opts.shown()) .. ")") or ""), 2)
    end
    if opts.every and since >= (opts.every_ms or 500) then
      opts.every()
      since = 0
    end
    H.sleep(20)
    waited, since = waited + 20, since + 20
  end
end

--- Types `keys` as a user would (mappings apply).
function H.feed(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), "mt", false)
  H.sleep(20)
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(("%s:\nexpected %s\n     got %s"):format(what or "values differ", vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

--- The plugin set up against the reference model server, as a user's config would.
function H.setup(extra)
  require("spark").setup(vim.tbl_deep_extend("force", {
    server = { path = assert(vim.env.SPARK_LSP_BIN, "SPARK_LSP_BIN is not set") },
    settings = {
      provider = {
        kind = "openai-chat",
        baseUrl = assert(vim.env.SPARK_MODEL_URL, "SPARK_MODEL_URL is not set"),
        model = "m",
        apiKeyEnv = "SPARK_E2E_KEY",
      },
    },
  }, extra or {}))
  vim.lsp.enable("spark")
end

--- Opens a new file holding `text` and waits for spark-lsp to attach.
function H.open(name, text)
  local path = vim.fs.joinpath(assert(vim.env.SPARK_TEST_DIR), name)
  local file = assert(io.open(path, "w"))
  file:write(text)
  file:close()
  vim.cmd.edit(vim.fn.fnameescape(path))
  return H.wait(function()
    return vim.lsp.get_clients({ bufnr = 0, name = "spark" })[1]
  end, "spark-lsp to attach")
end

function H.lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

--- The ghost text shown in the current buffer, read back from its extmarks: the inline text,
--- then each virtual line after a line break; nil when none is shown.
function H.ghost()
  local ns = require("spark.ghost").ns
  local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local details = marks[1][4]
  local parts = { details.virt_text and details.virt_text[1][1] or "" }
  for _, line in ipairs(details.virt_lines or {}) do
    table.insert(parts, line[1][1])
  end
  return table.concat(parts, "\n"), { row = marks[1][2], col = marks[1][3], details = details }
end

--- Waits for the ghost text to read `expected` (or one of a list). The provider is built in the
--- background after `initialize`, so until it is up the plugin asks again, as typing would.
--- `timeout_ms` overrides H.wait's default.
function H.wait_ghost(expected, timeout_ms)
  local accepted = type(expected) == "table" and expected or { expected }
  H.wait(function()
    return vim.tbl_contains(accepted, H.ghost())
  end, ("ghost text %s"):format(vim.inspect(expected)), {
    timeout = timeout_ms,
    shown = H.ghost,
    every = function()
      if not H.ghost() then
        require("spark.ghost").request(0, false)
      end
    end,
  })
  return H.ghost()
end

--- Runs `test` as a coroutine after start-up, with a watchdog.
function H.run(test)
  vim.defer_fn(function()
    finish("FAIL\nwatchdog: the test did not finish in 120 s")
  end, 120000)
  vim.schedule(function()
    local co = coroutine.create(function()
      test()
      finish("OK")
    end)
    local ok, err = coroutine.resume(co)
    if not ok then
      finish("FAIL\n" .. debug.traceback(co, tostring(err)))
    end
  end)
end

return H
