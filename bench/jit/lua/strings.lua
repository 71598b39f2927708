-- Strings and tables: formats and concatenates many short strings, interns them as table keys,
-- rewrites them with patterns, and sorts them with a Lua comparison function.
-- usage: lua strings.lua [COUNT]   (default 60000; prints a checksum of the sorted result)
local count = tonumber(arg[1]) or 60000

local words = {}
local x = 7
for i = 1, count do
  x = (x * 48271) % 2147483647
  -- A made-up "name-number" key, its letters taken from x's digits; some repeat.
  local s = string.format("%x", x % 65536):gsub("%d", function(d) return string.char(103 + tonumber(d)) end)
  words[i] = s .. "-" .. (x % 3)
end

-- Count each distinct key and the letters of all of them.
local seen, distinct, letters = {}, 0, 0
for _, w in ipairs(words) do
  if not seen[w] then seen[w] = true; distinct = distinct + 1 end
  letters = letters + #w:gsub("[^%a]", "")
end

-- Sort by length, then backwards alphabetically, with a Lua function (many calls from C).
table.sort(words, function(p, q)
  if #p ~= #q then return #p < #q end
  return p > q
end)
for i = 2, #words do
  local p, q = words[i - 1], words[i]
  assert(#p < #q or (#p == #q and p >= q), "not sorted")
end

-- Join the sorted list, then fold its bytes into a checksum.
local joined = table.concat(words, ",")
local sum = 0
for i = 1, #joined, 7 do sum = (sum * 31 + joined:byte(i)) % 1000000007 end
print(string.format("%d keys, %d distinct, %d letters, %d bytes joined, checksum %d",
  #words, distinct, letters, #joined, sum))
print("first " .. words[1] .. ", last " .. words[#words])
