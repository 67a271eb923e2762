--- A model-backed code action through vim.lsp.buf.code_action(): listed, resolved by the
--- server, and its edit applied to the buffer.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  H.setup()
  H.open("add.rs", "fn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\n")
  vim.api.nvim_win_set_cursor(0, { 2, 6 })
  local function complete()
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(action)
        return action.title == "Complete this implementation"
      end,
    })
  end
  complete()
  -- Until the provider is up the action resolves without an edit; ask again, as a user would.
  H.wait(function()
    return H.lines()[2] == "    a + b"
  end, "the resolved edit in the buffer", { every = complete, every_ms = 2000 })
  H.eq({ "fn add(a: i32, b: i32) -> i32 {", "    a + b", "}" }, H.lines(), "the whole buffer")

  -- "Rewrite with instruction…": the plugin asks for the instruction (vim.ui.input), the server
  -- runs spark.rewrite and applies the edit with workspace/applyEdit.
  local prompts = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(prompts, opts.prompt)
    on_confirm("use wrapping_add")
  end
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return vim.startswith(action.title, "Rewrite with instruction")
    end,
  })
  H.wait(function()
    return H.lines()[2] == "    a.wrapping_add(b)"
  end, "the rewrite in the buffer", { shown = H.lines })
  H.eq({ "Rewrite with instruction: " }, prompts, "asked once")
end)
