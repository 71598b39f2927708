-- N-body: a cluster of point masses under softened gravity, integrated with leapfrog steps, in
-- double-precision arithmetic on table fields. Initial positions come from a fixed linear
-- congruential generator, so the energies printed are the same on every run and every machine.
-- usage: lua nbody.lua [STEPS]   (default 5000)
local steps = tonumber(arg[1]) or 5000
local n, dt, soft = 24, 0.001, 0.01

local seed = 12345
local function rand()  -- uniform in [-1, 1), exact in doubles
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 1073741824 - 1
end

local bodies = {}
for i = 1, n do
  bodies[i] = { x = rand(), y = rand(), z = rand(), vx = rand() * 0.1, vy = rand() * 0.1,
                vz = rand() * 0.1, m = 0.5 + (rand() + 1) / 4 }
end

local function energy()
  local e = 0.0
  for i = 1, n do
    local a = bodies[i]
    e = e + 0.5 * a.m * (a.vx * a.vx + a.vy * a.vy + a.vz * a.vz)
    for j = i + 1, n do
      local b = bodies[j]
      local dx, dy, dz = a.x - b.x, a.y - b.y, a.z - b.z
      e = e - a.m * b.m / math.sqrt(dx * dx + dy * dy + dz * dz + soft)
    end
  end
  return e
end

local function step()
  for i = 1, n do
    local a = bodies[i]
    for j = i + 1, n do
      local b = bodies[j]
      local dx, dy, dz = a.x - b.x, a.y - b.y, a.z - b.z
      local d2 = dx * dx + dy * dy + dz * dz + soft
      local f = dt / (d2 * math.sqrt(d2))
      local fa, fb = b.m * f, a.m * f
      a.vx, a.vy, a.vz = a.vx - dx * fa, a.vy - dy * fa, a.vz - dz * fa
      b.vx, b.vy, b.vz = b.vx + dx * fb, b.vy + dy * fb, b.vz + dz * fb
    end
  end
  for i = 1, n do
    local a = bodies[i]
    a.x, a.y, a.z = a.x + dt * a.vx, a.y + dt * a.vy, a.z + dt * a.vz
  end
end

print(string.format("energy before: %.9f", energy()))
for _ = 1, steps do step() end
print(string.format("energy after %d steps: %.9f", steps, energy()))
