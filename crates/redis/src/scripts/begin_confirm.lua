-- begin_confirm: move a live hold to pending, so it cannot expire while its
-- booking is written. Idempotent: a pending hold answers 'pending' again.
--
-- KEYS[1]  <p>:{e:<id>}:loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:owners     hash seat -> hold id
-- KEYS[4]  <p>:{e:<id>}:hold:<id>  hash: u user, s seats "1,2", x expiry ms, p "1" if pending
-- KEYS[5]  <p>:{e:<id>}:user:<u>   the asking user's seats (touched only if they own the hold)
-- KEYS[6]  <p>:{e:<id>}:pending    zset hold id -> ms its confirm began
-- ARGV[1]  hold id
-- ARGV[2]  asking user id
--
-- Replies:
--   {'not_loaded'} | {'not_found'} (unknown or expired) | {'not_owner'}
--   {'pending', user, seats, expiry_ms}   expiry_ms is the hold's original expiry

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_loaded'}
end
local rec = redis.call('HMGET', KEYS[4], 'u', 's', 'x', 'p')
if not rec[1] then
  return {'not_found'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pending = rec[4] == '1'
if not pending and tonumber(rec[3]) <= now then
  return {'not_found'}
end
if rec[1] ~= ARGV[2] then
  return {'not_owner'}
end

if not pending then
  local id = ARGV[1]
  local n = 0
  for seat in string.gmatch(rec[2], '%d+') do
    n = n + 1
    -- Only seats still ours: a reload may have booked one from under us.
    if redis.call('HGET', KEYS[3], seat) == id then
      redis.call('ZADD', KEYS[2], 'inf', seat)
    end
    redis.call('ZADD', KEYS[5], 'inf', id .. ':' .. n)
  end
  redis.call('HSET', KEYS[4], 'p', '1')
  redis.call('ZADD', KEYS[6], 'NX', now, id)
  -- Pending data never expires; finish or abort gives it a TTL again.
  redis.call('PERSIST', KEYS[4])
  redis.call('PERSIST', KEYS[5])
end
return {'pending', rec[1], rec[2], rec[3]}
