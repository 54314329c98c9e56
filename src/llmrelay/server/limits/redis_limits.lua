-- A key's limits across replicas, atomically: apply this replica's queued settlements, then
-- (op "acquire") check rpm, tpm, parallel and budget and take them all or none, or (op
-- "renew") extend the leases of requests still in flight.
--
-- ARGV: prefix, lease_ttl, n_settle, n_settle x (token, lease|"", window, reserved_tokens,
--       tokens, cost, period), op ("" | "acquire" | "renew"), then
--   acquire: token, rpm|"", tpm|"", parallel|"", budget|"", period|"", stored_spend,
--            tokens, cost, lease|""
--   renew:   n x (token, lease)
-- Returns, for acquire: {1, window} or {0, reason, retry_after|"", used}; else {1}.
--
-- Keys under <prefix>:
--   w:<token>:<minute>  hash r (requests), t (tokens used + reserved) of one UTC minute
--   b:<token>           hash p (period: its end, or "life"), s (settled spend), v (reserved)
--   l:<token>           zset lease -> expiry: one per request in flight (parallel count)
--   lc:<token>          hash lease -> "cost|period|window|tokens" (what a dead lease gives back)
-- The clock is Redis's (TIME), the same for every replica.

local P = ARGV[1]
local LEASE_TTL = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local minute = math.floor(tonumber(clock[1]) / 60)
local WINDOW_TTL = 120
local LIFE_TTL = 86400  -- a lifetime budget idle this long is seeded from the database again

local function window_key(token, m) return P .. ':w:' .. token .. ':' .. m end

local function give_back_tokens(token, window, tokens)
  if tokens > 0 then
    local wkey = window_key(token, window)
    if redis.call('EXISTS', wkey) == 1 then
      redis.call('HINCRBY', wkey, 't', -tokens)
    end
  end
end

local function give_back_cost(token, cost)
  if cost > 0 then
    local bkey = P .. ':b:' .. token
    local reserved = tonumber(redis.call('HGET', bkey, 'v') or '0') - cost
    redis.call('HSET', bkey, 'v', string.format('%.17g', math.max(reserved, 0)))
  end
end

-- Leases whose replica stopped renewing them (it died): their slot and reservations go back.
local function reap(token)
  local lkey = P .. ':l:' .. token
  local dead = redis.call('ZRANGEBYSCORE', lkey, '-inf', now)
  if #dead == 0 then return end
  local ckey = P .. ':lc:' .. token
  for _, lease in ipairs(dead) do
    local held = redis.call('HGET', ckey, lease)
    if held then
      local cost, _, window, tokens = string.match(held, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
      give_back_cost(token, tonumber(cost))
      give_back_tokens(token, window, tonumber(tokens))
      redis.call('HDEL', ckey, lease)
    end
  end
  redis.call('ZREMRANGEBYSCORE', lkey, '-inf', now)
end

local i = 4
for _ = 1, tonumber(ARGV[3]) do
  local token, lease, window = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local reserved, tokens, cost, period = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]),
      tonumber(ARGV[i + 5]), ARGV[i + 6]
  local live = true
  if lease ~= '' then
    local ckey = P .. ':lc:' .. token
    local held = redis.call('HGET', ckey, lease)
    live = redis.call('ZREM', P .. ':l:' .. token, lease) == 1 and held ~= false
    redis.call('HDEL', ckey, lease)
    if live then
      local c = string.match(held, '^([^|]*)|')
      give_back_cost(token, tonumber(c))
    end
  end
  if live then  -- else the lease was reaped (taken for a dead replica's): nothing to give back
    give_back_tokens(token, window, reserved)
  end
  if tokens > 0 then
    local wkey = window_key(token, minute)
    redis.call('HINCRBY', wkey, 't', tokens)
    redis.call('EXPIRE', wkey, WINDOW_TTL)
  end
  if cost > 0 then
    local bkey = P .. ':b:' .. token
    if redis.call('HGET', bkey, 'p') == period then
      redis.call('HINCRBYFLOAT', bkey, 's', cost)
    end
  end
  i = i + 7
end

local op = ARGV[i]
if op == 'renew' then
  local n = tonumber(ARGV[i + 1])
  for k = 1, n do
    local token, lease = ARGV[i + 2 * k], ARGV[i + 2 * k + 1]
    redis.call('ZADD', P .. ':l:' .. token, 'XX', now + LEASE_TTL, lease)
  end
  return {1}
end
if op ~= 'acquire' then
  return {1}
end

local token = ARGV[i + 1]
local rpm, tpm, parallel, budget = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]),
    tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
local period = ARGV[i + 6]
local stored = tonumber(ARGV[i + 7])
local demand_tokens, demand_cost = tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9])
local lease = ARGV[i + 10]
local left = (minute + 1) * 60 - now

reap(token)

local bkey = P .. ':b:' .. token
local spent, reserved = 0, 0
if budget then
  local b = redis.call('HMGET', bkey, 'p', 's', 'v')
  reserved = tonumber(b[3] or '0')
  if reserved ~= 0 and redis.call('EXISTS', P .. ':l:' .. token) == 0 then
    reserved = 0  -- every reservation belongs to a lease, and none is left: heal any drift
    redis.call('HSET', bkey, 'v', '0')
  end
  if b[1] ~= period then
    -- First sight of the key in this period (or Redis lost it): start from the database's
    -- spend. Reservations of requests still in flight from the last period stay counted.
    spent = stored
    redis.call('HSET', bkey, 'p', period, 's', string.format('%.17g', spent))
  else
    spent = tonumber(b[2] or '0')
    if stored > spent then
      -- The database knows more (spend made while this Redis was unreachable): catch up.
      spent = stored
      redis.call('HSET', bkey, 's', string.format('%.17g', spent))
    end
  end
  if period == 'life' then
    redis.call('EXPIRE', bkey, LIFE_TTL)
  else
    redis.call('EXPIREAT', bkey, math.ceil(tonumber(period)) + 3600)
  end
  if spent + reserved + demand_cost > budget + 1e-12 or (demand_cost == 0 and spent >= budget) then
    local retry = ''
    if period ~= 'life' then retry = string.format('%.3f', math.max(tonumber(period) - now, 1)) end
    return {0, 'budget', retry, string.format('%.17g', spent)}
  end
end

local lkey = P .. ':l:' .. token
if parallel then
  local running = redis.call('ZCARD', lkey)
  if running >= parallel then
    return {0, 'parallel', '1', tostring(running)}
  end
end

local wkey = window_key(token, minute)
local w = redis.call('HMGET', wkey, 'r', 't')
local requests, used = tonumber(w[1] or '0'), tonumber(w[2] or '0')
if rpm and requests >= rpm then
  return {0, 'rpm', string.format('%.3f', left), tostring(requests)}
end
if tpm and used + demand_tokens > tpm then
  return {0, 'tpm', string.format('%.3f', left), tostring(used)}
end

redis.call('HINCRBY', wkey, 'r', 1)
if demand_tokens > 0 then
  redis.call('HINCRBY', wkey, 't', demand_tokens)
end
redis.call('EXPIRE', wkey, WINDOW_TTL)
if lease ~= '' then
  redis.call('ZADD', lkey, now + LEASE_TTL, lease)
  redis.call('HSET', P .. ':lc:' .. token, lease, string.format('%.17g', demand_cost) .. '|' ..
             period .. '|' .. minute .. '|' .. demand_tokens)
  -- Kept as long as the budget's counter: a dead lease must still be there to give back.
  redis.call('EXPIRE', lkey, LIFE_TTL)
  redis.call('EXPIRE', P .. ':lc:' .. token, LIFE_TTL)
end
if budget and demand_cost > 0 then
  redis.call('HSET', bkey, 'v', string.format('%.17g', reserved + demand_cost))
end
return {1, minute}
