-- Recursive Fibonacci: Lua function calls and small-integer arithmetic, nothing else.
-- usage: lua fib.lua [N]   (default 33; prints fib(N), checked against a loop)
local n = tonumber(arg[1]) or 33

local function fib(k)
  if k < 2 then return k end
  return fib(k - 1) + fib(k - 2)
end

local a, b = 0, 1
for _ = 1, n do a, b = b, a + b end
local r = fib(n)
assert(r == a, "fib mismatch")
print(string.format("fib(%d) = %d", n, r))
