-- counts: booked and held seats of the event, exact at this instant, and
-- the confirms pending for too long. O(log n) when nothing expired.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  ms after which a pending confirm counts as stale
--
-- Replies: {'not_loaded'} | {'counts', booked, held, stale}; held includes
-- pending seats.

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
purge(now)
-- Each hash keeps its placeholder member.
local booked = redis.call('HLEN', BOOKED) - 1
local held = redis.call('HLEN', OWNERS) - 1
local stale = redis.call('ZCOUNT', PENDING, '-inf', '(' .. string.format('%d', now - tonumber(ARGV[1])))
keep_alive(now, m[5], false)
return { 'counts', booked, held, stale }
