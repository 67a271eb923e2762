--- Zero configuration: the plugin set up with nothing but the server's path and no key in the
--- environment, so the server runs its embedded model (SmolLM2-135M), and the ghost text it
--- suggests appears and is accepted like any other.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  require("spark").setup({ server = { path = assert(vim.env.SPARK_LSP_BIN, "SPARK_LSP_BIN is not set") } })
  vim.lsp.enable("spark")
  H.open("add.py", 'def add(a, b):\n    """Return the sum of a and b."""\n    \n')
  vim.api.nvim_win_set_cursor(0, { 3, 4 })
  -- Typed with requests held back, so that one greedy answer, for exactly this text, is shown.
  local ghost = require("spark.ghost")
  local request = ghost.request
  ghost.request = function() end
  H.feed("Areturn ")
  ghost.request = request
  -- The model loads in the background: a deadline for a loaded machine, not a speed test.
  H.wait_ghost("a + b", 120000)
  H.feed("<Tab>")
  H.eq("    return a + b", H.lines()[3], "the local model's suggestion accepted")
end)
