-- luacheck: LuaJIT everywhere; busted's globals in specs.
std = "luajit"
max_line_length = 120
-- Specs hold whole expected lines: exact strings are clearer unbroken.
files["spec"] = { std = "+busted", max_line_length = false }
exclude_files = { "build" }
