-- Binary trees: allocates complete binary trees of tables, walks them and drops them, so most of
-- the time goes to the allocator and the garbage collector. One tree lives through the whole run.
-- usage: lua trees.lua [DEPTH]   (default 15; prints node counts, which depend on DEPTH alone)
local depth = tonumber(arg[1]) or 15

local function make(d)
  if d == 0 then return {} end
  return { make(d - 1), make(d - 1) }
end

local function count(t)
  if t[1] == nil then return 1 end
  return 1 + count(t[1]) + count(t[2])
end

local keep = make(depth)
local total = 0
for d = 4, depth, 2 do
  -- Shallow trees many times, deep ones a few times: about the same number of nodes at each depth.
  local times, nodes = 1 << (depth - d + 2), 0
  for _ = 1, times do nodes = nodes + count(make(d)) end
  assert(nodes == times * ((1 << (d + 1)) - 1), "wrong node count")
  print(string.format("%6d trees of depth %2d: %9d nodes", times, d, nodes))
  total = total + nodes
end
print(string.format("long-lived tree of depth %d: %d nodes; %d nodes in all", depth, count(keep), total))
