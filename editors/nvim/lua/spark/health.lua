--- `:checkhealth spark`: Neovim version, the spark-lsp binary (found and runs `--version`),
--- the plugin's options, and whether a server runs in this session.
local M = {}

local health = vim.health

local function check_neovim()
  local v = vim.version()
  local version = ("%d.%d.%d"):format(v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.11") == 0 then
    health.error("Neovim " .. version .. " is too old", { "spark-lsp needs Neovim 0.11 or later" })
    return
  end
  health.ok("Neovim " .. version)
  if vim.lsp.inline_completion then
    health.ok("ghost text: native vim.lsp.inline_completion")
  else
    health.ok("ghost text: rendered by the plugin (Neovim < 0.12)")
  end
end

local function check_binary(config)
  local cmd = config.cmd()
  local exe = cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    health.error(("spark-lsp binary not found: %s"):format(exe), {
      "install it: cargo install --locked --path server (from a clone of spark-lsp)",
      "or set server.path in require('spark').setup({ server = { path = ... } })",
    })
    return
  end
  local path = vim.fn.exepath(exe)
  local ok, result = pcall(function()
    return vim.system({ path, "--version" }, { text = true }):wait(5000)
  end)
  if not ok or result.code ~= 0 then
    health.error(("%s --version failed"):format(path), { ok and (result.stderr or "") or tostring(result) })
    return
  end
  health.ok(("%s (%s)"):format(vim.trim(result.stdout), path))
end

local function check_options(config)
  local ok, err = pcall(config.validate, config.options)
  if not ok then
    health.error("invalid options: " .. tostring(err))
    return
  end
  health.ok("options are valid")
  local provider = (config.options.settings or {}).provider or {}
  health.info(("provider: %s at %s (model %s)"):format(
    provider.kind or "openai-responses (default)",
    provider.baseUrl or "the default endpoint",
    provider.model or "default"
  ))
  local key_env = provider.apiKeyEnv or "OPENAI_API_KEY"
  local base = provider.baseUrl or "https://api.openai.com/v1"
  local loopback = base:match("^%a+://127%.") or base:match("^%a+://localhost") or base:match("^%a+://%[::1%]")
  if not provider.apiKeyCommand and not loopback and (vim.env[key_env] or "") == "" then
    health.warn(("%s is not set: a cloud provider needs a key"):format(key_env), {
      "export it before starting Neovim, or set settings.provider.apiKeyCommand",
    })
  end
end

local function check_clients()
  local clients = vim.lsp.get_clients({ name = "spark" })
  if #clients == 0 then
    health.info("spark-lsp is not running in this session (vim.lsp.enable('spark') starts it)")
    return
  end
  for _, client in ipairs(clients) do
    health.ok(("client %d running, position encoding %s"):format(client.id, client.offset_encoding))
  end
end

function M.check()
  local config = require("spark.config")
  health.start("spark-lsp: Neovim")
  check_neovim()
  health.start("spark-lsp: server binary")
  check_binary(config)
  health.start("spark-lsp: configuration")
  check_options(config)
  check_clients()
end

return M
