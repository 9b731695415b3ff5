-- finish_confirm: the booking is durable, so mark its seats booked by it and
-- forget the hold. Idempotent. Marks the seats even when the hold record is
-- gone (lost with a flush and reloaded since), and while a load is begun
-- (its snapshot may predate this booking); does nothing when the mirror is
-- neither loaded nor loading, as the next load reads the booking.
--
-- KEYS[1]  <p>:{e:<id>}:loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:owners     hash seat -> hold id
-- KEYS[4]  <p>:{e:<id>}:booked     hash seat -> booking id
-- KEYS[5]  <p>:{e:<id>}:hold:<id>
-- KEYS[6]  <p>:{e:<id>}:user:<u>   the hold owner's seats
-- KEYS[7]  <p>:{e:<id>}:loading    set by begin_load
-- KEYS[8]  <p>:{e:<id>}:pending    zset hold id -> ms its confirm began
-- ARGV[1]  hold id (= booking id)
-- ARGV[2..] the hold's seat numbers
--
-- Uses expire_user_set from lib/expire_user_set.lua, prepended when built.
--
-- Replies: 1 when the seats are booked, 0 when the mirror is not loaded.

if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
  return 0
end
local id = ARGV[1]
redis.call('ZREM', KEYS[8], id)
for i = 2, #ARGV do
  local seat = ARGV[i]
  redis.call('HSET', KEYS[4], seat, id)
  redis.call('ZADD', KEYS[2], 'inf', seat)
  -- Booked wins: no hold owns the seat any more, ours or (after a lost
  -- mirror) another one, whose release must not free it.
  redis.call('HDEL', KEYS[3], seat)
  redis.call('ZREM', KEYS[6], id .. ':' .. (i - 1))
end
redis.call('DEL', KEYS[5])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
expire_user_set(KEYS[6], now)
return 1
