-- unbook: free the seats of a cancelled booking, only those still booked
-- by it (a seat booked again since stays booked). Idempotent; harmless
-- without a mirror. While a load runs it also records the booking, so the
-- load's chunks (read before the cancel) do not book it again.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  booking id
-- ARGV[2..] seat numbers
--
-- Replies: the number of seats freed.

local booking = ARGV[1]
local m = redis.call('HMGET', META, 'st', 'due')
if not m[1] then
  return 0
end
local now = clock()
purge(now)
local freed = {}
for i = 2, #ARGV do
  local seat = ARGV[i]
  if redis.call('HGET', BOOKED, seat) == booking then
    redis.call('HDEL', BOOKED, seat)
    redis.call('SETRANGE', STATE, seat - 1, '0')
    freed[#freed + 1] = seat
  end
end
back_on_sale(now, freed)
if m[1] == 'loading' then
  redis.call('SADD', UNBOOKED, booking)
end
keep_alive(now, m[2], false)
return #freed
