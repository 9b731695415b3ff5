-- release: free the seats of a live, not pending hold, if the asker owns it.
--
-- KEYS[1]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[2]  <p>:{e:<id>}:owners     hash seat -> hold id
-- KEYS[3]  <p>:{e:<id>}:hold:<id>  hash: u user, s seats "1,2", x expiry ms, p "1" if pending
-- KEYS[4]  <p>:{e:<id>}:user:<u>   the asking user's seats (touched only if they own the hold)
-- ARGV[1]  hold id
-- ARGV[2]  asking user id
--
-- Replies: 'released', 'not_found' (unknown, expired or pending), 'not_owner'.

local rec = redis.call('HMGET', KEYS[3], 'u', 's', 'x', 'p')
if not rec[1] or rec[4] == '1' then
  return 'not_found'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(rec[3]) <= now then
  return 'not_found'
end
if rec[1] ~= ARGV[2] then
  return 'not_owner'
end
local id = ARGV[1]
local n = 0
for seat in string.gmatch(rec[2], '%d+') do
  n = n + 1
  -- Only seats still ours: a reload may have booked one from under us.
  if redis.call('HGET', KEYS[2], seat) == id then
    redis.call('ZREM', KEYS[1], seat)
    redis.call('HDEL', KEYS[2], seat)
  end
  redis.call('ZREM', KEYS[4], id .. ':' .. n)
end
-- The user's set keeps its TTL: it still covers every remaining hold.
redis.call('DEL', KEYS[3])
return 'released'
