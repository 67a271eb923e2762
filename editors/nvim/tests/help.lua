--- doc/spark.txt: `:helptags` builds its tags and `:help` finds them.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/helpers.lua")

H.run(function()
  -- Build the tags in a copy: the clone stays clean.
  local doc = vim.fs.joinpath(vim.env.SPARK_TEST_DIR, "doc")
  vim.fn.mkdir(doc, "p")
  vim.fn.writefile(vim.fn.readfile(vim.fs.joinpath(H.plugin, "doc", "spark.txt")), vim.fs.joinpath(doc, "spark.txt"))
  vim.cmd("helptags " .. vim.fn.fnameescape(doc))
  local tags = {}
  for _, line in ipairs(vim.fn.readfile(vim.fs.joinpath(doc, "tags"))) do
    tags[line:match("^[^\t]+")] = true
  end
  for _, tag in ipairs({ "spark.txt", "spark", "spark-setup", "spark-ghost-text", "spark-next-edit", "spark-next-edit-jump", "spark-next-edit-signals", "spark-diagnostics-forwarding", "spark-health", ":Spark", "spark.setup()" }) do
    if not tags[tag] then
      error(("no tag %s in %s"):format(tag, vim.inspect(vim.tbl_keys(tags))))
    end
  end
  vim.opt.runtimepath:prepend(vim.env.SPARK_TEST_DIR)
  vim.cmd("help spark-ghost-text")
  H.eq("help", vim.bo.buftype, "the help window")
end)
