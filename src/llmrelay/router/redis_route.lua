-- One routing decision on the shared state, atomically: apply this router's queued
-- settlements, then pick an eligible deployment and count its request (or only measure how
-- long until one is eligible).
--
-- ARGV: prefix, instance, allowed_fails, beat (1: heartbeat and reap), n_settle,
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
local DEAD = 60
local EWMA = 0.25
local mine = P .. ':inst:' .. inst

if ARGV[4] == '1' then
  local instances = P .. ':instances'
  redis.call('ZADD', instances, now, inst)
  redis.call('EXPIRE', instances, TTL)
  redis.call('EXPIRE', mine, TTL)
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', instances, '-inf', now - DEAD, 'LIMIT', 0, 8)) do
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
end

local function average(current, sample)
  if current then
    sample = tonumber(current) + EWMA * (sample - tonumber(current))
  end
  return string.format('%.6f', sample)
end

local i = 6
for _ = 1, tonumber(ARGV[5]) do
  local id, tokens, latency, ttft = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local failure = tonumber(ARGV[i + 4])
  local key = P .. ':d:' .. id
  local h = redis.call('HMGET', key, 'm', 't', 'f', 'l', 's', 'c')
  local update = {}
  local left = redis.call('HINCRBY', mine, id, -1)
  if left <= 0 then
    redis.call('HDEL', mine, id)
  end
  if left >= 0 then  -- else a router took this count back, believing us dead
    update[#update + 1] = 'f'
    update[#update + 1] = math.max(tonumber(h[3] or 1) - 1, 0)
  end
  if tokens > 0 then
    if tonumber(h[1] or -1) ~= minute then
      for _, v in ipairs({'m', minute, 'r', 0, 't', tokens}) do update[#update + 1] = v end
    else
      update[#update + 1] = 't'
      update[#update + 1] = tonumber(h[2] or 0) + tokens
    end
  end
  if latency ~= '' then
    update[#update + 1] = 'l'
    update[#update + 1] = average(h[4], tonumber(latency))
  end
  if ttft ~= '' then
    update[#update + 1] = 's'
    update[#update + 1] = average(h[5], tonumber(ttft))
  end
  if failure > 0 then
    local at = now - tonumber(ARGV[i + 6])
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
      local until_ = at + tonumber(ARGV[i + 5])
      if until_ > tonumber(h[6] or 0) then
        update[#update + 1] = 'c'
        update[#update + 1] = string.format('%.6f', until_)
      end
    end
  end
  if #update > 0 then
    redis.call('HSET', key, unpack(update))
  end
  i = i + 7
end

local mode = ARGV[i]
if mode == '' then
  return {'', '0'}
end
local wait = 1e18
local chosen, chosen_key, chosen_rank, chosen_h = nil, nil, nil, nil
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
    else
      local value = 0
      if mode == 'in_flight' then
        value = tonumber(h[5] or 0)
      elseif mode == 'tpm' then
        value = used_t
      elseif mode == 'latency' then
        value = tonumber(h[6] or -1)
      elseif mode == 'ttft' then
        value = tonumber(h[7] or -1)
      end
      if not chosen or value < chosen_key then
        chosen, chosen_key, chosen_rank, chosen_h = id, value, rank, h
        chosen_h.used_r = used_r
      end
      if mode == 'first' then break end
    end
  end
end

if not chosen then
  return {'', string.format('%.6f', wait)}
end
local key = P .. ':d:' .. chosen
if tonumber(chosen_h[2] or -1) ~= minute then
  redis.call('HSET', key, 'm', minute, 'r', 1, 't', 0, 'f', tonumber(chosen_h[5] or 0) + 1)
  redis.call('EXPIRE', key, TTL)
else
  redis.call('HSET', key, 'r', chosen_h.used_r + 1, 'f', tonumber(chosen_h[5] or 0) + 1)
end
redis.call('HINCRBY', mine, chosen, 1)
return {chosen, '0'}
