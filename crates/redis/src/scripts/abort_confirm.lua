-- abort_confirm: the booking was not written, so put a pending hold back:
-- held again until its original expiry, or free if that has passed.
-- Idempotent: a hold that is not pending (or gone) is left alone.
--
-- KEYS[1]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[2]  <p>:{e:<id>}:owners     hash seat -> hold id
-- KEYS[3]  <p>:{e:<id>}:hold:<id>  hash: u user, s seats "1,2", x expiry ms, p "1" if pending
-- KEYS[4]  <p>:{e:<id>}:user:<u>   the owner's seats; the caller read `u` from the record first
-- KEYS[5]  <p>:{e:<id>}:pending    zset hold id -> ms its confirm began
-- ARGV[1]  hold id
-- ARGV[2]  the owner the caller read (a different one means the record changed: retry)
--
-- Uses expire_user_set from lib/expire_user_set.lua, prepended when built.
--
-- Replies: 'held' (back until its expiry), 'freed' (expired meanwhile),
-- 'noop' (not pending or gone), 'owner_changed'.

redis.call('ZREM', KEYS[5], ARGV[1])
local rec = redis.call('HMGET', KEYS[3], 'u', 's', 'x', 'p')
if not rec[1] or rec[4] ~= '1' then
  return 'noop'
end
if rec[1] ~= ARGV[2] then
  return 'owner_changed'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local expiry = tonumber(rec[3])
local live = expiry > now
local n = 0
for seat in string.gmatch(rec[2], '%d+') do
  n = n + 1
  -- Only seats still ours: a reload may have booked one from under us.
  if redis.call('HGET', KEYS[2], seat) == id then
    if live then
      redis.call('ZADD', KEYS[1], expiry, seat)
    else
      redis.call('ZREM', KEYS[1], seat)
      redis.call('HDEL', KEYS[2], seat)
    end
  end
  if live then
    redis.call('ZADD', KEYS[4], expiry, id .. ':' .. n)
  else
    redis.call('ZREM', KEYS[4], id .. ':' .. n)
  end
end

local reply
if live then
  redis.call('HDEL', KEYS[3], 'p')
  redis.call('PEXPIRE', KEYS[3], expiry - now + 1000)
  reply = 'held'
else
  redis.call('DEL', KEYS[3])
  reply = 'freed'
end

expire_user_set(KEYS[4], now)
return reply
