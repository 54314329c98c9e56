-- One routing decision on the shared state, atomically: apply this router's queued
-- settlements, then pick an eligible deployment and count its request (or only measure how
-- long until one is eligible).
--
-- ARGV: prefix, instance, allowed_fails, n_settle,
--       n_settle x (id, tokens, latency|"", ttft|"", failure 0|1|2, cooldown, age),
--       mode ("" settle only | "peek" | "first" | "in_flight" | "tpm" | "latency" | "ttft"),
--       n_candidates, n_candidates x (id, rpm|0, tpm|0, rank)
-- Returns {picked id or "", seconds until one is eligible (when none is picked)}.
--
-- Per deployment, hash <prefix>:d:<id>: m (UTC minute of r and t), r (requests this minute),
-- t (tokens this minute), f (in flight), c (cooling until, epoch s), l / s (recent average
-- latency / time to first token). Retryable failures: zset <prefix>:fails:<id>.
-- In-flight counts per router instance (<prefix>:inst:<instance>) let a live router take back
-- what a dead one (no heartbeat in <prefix>:instances for 60 s) left counted.

local P = ARGV[1]
local inst = ARGV[2]
local allowed = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local minute = math.floor(tonumber(clock[1]) / 60)
local TTL = 86400
local FAIL_WINDOW = 60
local EWMA = 0.25
local instances = P .. ':instances'
local mine = P .. ':inst:' .. inst

redis.call('ZADD', instances, now, inst)
redis.call('EXPIRE', instances, TTL)

for _, other in ipairs(redis.call('ZRANGEBYSCORE', instances, '-inf', now - 60, 'LIMIT', 0, 4)) do
  local key = P .. ':inst:' .. other
  local counts = redis.call('HGETALL', key)
  for k = 1, #counts, 2 do
    local dkey = P .. ':d:' .. counts[k]
    if redis.call('HINCRBY', dkey, 'f', -tonumber(counts[k + 1])) < 0 then
      redis.call('HSET', dkey, 'f', 0)
    end
  end
  redis.call('DEL', key)
  redis.call('ZREM', instances, other)
end

local function average(key, field, sample)
  local current = redis.call('HGET', key, field)
  if current then
    sample = tonumber(current) + EWMA * (sample - tonumber(current))
  end
  redis.call('HSET', key, field, string.format('%.6f', sample))
end

local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local id, tokens, latency, ttft = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local failure, cooldown, age = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local key = P .. ':d:' .. id
  local left = redis.call('HINCRBY', mine, id, -1)
  if left <= 0 then
    redis.call('HDEL', mine, id)
  end
  if left >= 0 and redis.call('HINCRBY', key, 'f', -1) < 0 then
    redis.call('HSET', key, 'f', 0)
  end
  if tokens > 0 then
    if tonumber(redis.call('HGET', key, 'm') or -1) ~= minute then
      redis.call('HSET', key, 'm', minute, 'r', 0, 't', tokens)
    else
      redis.call('HINCRBY', key, 't', tokens)
    end
  end
  if latency ~= '' then average(key, 'l', tonumber(latency)) end
  if ttft ~= '' then average(key, 's', tonumber(ttft)) end
  if failure > 0 then
    local at = now - age
    local cool = failure == 2
    local fails = P .. ':fails:' .. id
    if failure == 1 then
      redis.call('ZADD', fails, at, string.format('%.6f', at) .. ':' .. inst .. ':' .. i)
      redis.call('ZREMRANGEBYSCORE', fails, '-inf', at - FAIL_WINDOW)
      redis.call('EXPIRE', fails, FAIL_WINDOW * 2)
      cool = redis.call('ZCARD', fails) > allowed
    end
    if cool then
      redis.call('DEL', fails)
      if at + cooldown > tonumber(redis.call('HGET', key, 'c') or 0) then
        redis.call('HSET', key, 'c', string.format('%.6f', at + cooldown))
      end
    end
  end
  redis.call('EXPIRE', key, TTL)
  i = i + 7
end

local mode = ARGV[i]
if mode == '' then
  return {'', '0'}
end
local wait = 1e18
local chosen, chosen_key, chosen_rank = nil, nil, nil
for _ = 1, tonumber(ARGV[i + 1]) do
  i = i + 4
  local id, rpm, tpm, rank = ARGV[i - 2], tonumber(ARGV[i - 1]), tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if chosen and rank ~= chosen_rank then break end
  local h = redis.call('HMGET', P .. ':d:' .. id, 'c', 'm', 'r', 't', 'f', 'l', 's')
  local cooling = tonumber(h[1] or 0)
  if cooling > now then
    wait = math.min(wait, cooling - now)
  else
    local used_r, used_t = 0, 0
    if tonumber(h[2] or -1) == minute then
      used_r, used_t = tonumber(h[3] or 0), tonumber(h[4] or 0)
    end
    if (rpm > 0 and used_r >= rpm) or (tpm > 0 and used_t >= tpm) then
      wait = math.min(wait, (minute + 1) * 60 - now)
    elseif mode == 'peek' then
      return {'', '0'}
    elseif mode == 'first' then
      chosen = id
      break
    else
      local value
      if mode == 'in_flight' then
        value = tonumber(h[5] or 0)
      elseif mode == 'tpm' then
        value = used_t
      elseif mode == 'latency' then
        value = tonumber(h[6] or -1)
      else
        value = tonumber(h[7] or -1)
      end
      if not chosen or value < chosen_key then
        chosen, chosen_key, chosen_rank = id, value, rank
      end
    end
  end
end

if not chosen then
  return {'', string.format('%.6f', wait)}
end
local key = P .. ':d:' .. chosen
if tonumber(redis.call('HGET', key, 'm') or -1) ~= minute then
  redis.call('HSET', key, 'm', minute, 'r', 1, 't', 0)
else
  redis.call('HINCRBY', key, 'r', 1)
end
redis.call('HINCRBY', key, 'f', 1)
redis.call('EXPIRE', key, TTL)
redis.call('HINCRBY', mine, chosen, 1)
redis.call('EXPIRE', mine, TTL)
return {chosen, '0'}
