-- A snapshot of deployments for Router.deployments(), in one round trip.
-- ARGV: prefix, id... Returns {now, then per id: c, m, r, t, f, l, s} (strings or false).

local P = ARGV[1]
local clock = redis.call('TIME')
local out = {string.format('%.6f', tonumber(clock[1]) + tonumber(clock[2]) / 1000000),
             tostring(math.floor(tonumber(clock[1]) / 60))}
for k = 2, #ARGV do
  local h = redis.call('HMGET', P .. ':d:' .. ARGV[k], 'c', 'm', 'r', 't', 'f', 'l', 's')
  for j = 1, 7 do
    out[#out + 1] = h[j] or ''
  end
end
return out
