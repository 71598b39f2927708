-- Spectral norm: the largest singular value of the infinite matrix a(i,j) = 1/((i+j)(i+j+1)/2+i+1),
-- by power iteration on A^T A truncated to N x N. Floating-point division and array loops.
-- usage: lua spectral.lua [N]   (default 350; the norm tends to 1.2742241...)
local n = tonumber(arg[1]) or 350

local function a(i, j)  -- zero-based indices
  local s = i + j
  return 1.0 / (s * (s + 1) / 2 + i + 1)
end

local function times(out, v, transpose)  -- out = A v, or A^T v
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do
      sum = sum + (transpose and a(j, i) or a(i, j)) * v[j]
    end
    out[i] = sum
  end
end

local u, v, tmp = {}, {}, {}
for i = 0, n - 1 do u[i] = 1.0 end
for _ = 1, 10 do
  times(tmp, u, false); times(v, tmp, true)    -- v = A^T A u
  times(tmp, v, false); times(u, tmp, true)    -- u = A^T A v
end
local uv, vv = 0.0, 0.0
for i = 0, n - 1 do uv, vv = uv + u[i] * v[i], vv + v[i] * v[i] end
local norm = math.sqrt(uv / vv)
assert(math.abs(norm - 1.2742241) < 1e-4, "norm out of range")
print(string.format("spectral norm (n = %d): %.9f", n, norm))
