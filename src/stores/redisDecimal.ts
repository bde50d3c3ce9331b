/**
 * Lua helpers for decimal arithmetic on non-negative integer strings without leading zeros, for scripts whose
 * amounts can pass the 2^53 that Lua's doubles hold exactly: `cmp(a, b)` → -1 / 0 / 1, `digits(a, b, 1)` = a + b,
 * `digits(a, b, -1)` = a - b (a ≥ b); any lengths. Prepend it to a script's source.
 */
export const REDIS_DECIMAL_LUA = `
local function cmp(a, b)
  if #a ~= #b then return (#a < #b) and -1 or 1 end
  if a == b then return 0 end
  return (a < b) and -1 or 1
end
local function digits(a, b, sign)
  local out, carry, i, j = {}, 0, #a, #b
  while i >= 1 or j >= 1 or carry ~= 0 do
    local d = (i >= 1 and tonumber(a:sub(i, i)) or 0) + sign * (j >= 1 and tonumber(b:sub(j, j)) or 0) + carry
    carry = 0
    if d < 0 then d = d + 10; carry = -1 elseif d > 9 then d = d - 10; carry = 1 end
    out[#out + 1] = d
    i = i - 1; j = j - 1
  end
  local k = #out
  while k > 1 and out[k] == 0 do k = k - 1 end
  local s = {}
  for x = k, 1, -1 do s[#s + 1] = out[x] end
  return table.concat(s)
end`;
