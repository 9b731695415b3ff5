-- unbook: free the seats of a cancelled booking, only those still booked by
-- it (a seat booked again since stays booked). Idempotent, and harmless
-- when the mirror is not loaded.
--
-- KEYS[1]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[2]  <p>:{e:<id>}:booked     hash seat -> booking id
-- ARGV[1]  booking id
-- ARGV[2..] seat numbers
--
-- Replies: the number of seats freed.

local freed = 0
for i = 2, #ARGV do
  local seat = ARGV[i]
  if redis.call('HGET', KEYS[2], seat) == ARGV[1] then
    redis.call('HDEL', KEYS[2], seat)
    redis.call('ZREM', KEYS[1], seat)
    freed = freed + 1
  end
end
return freed
