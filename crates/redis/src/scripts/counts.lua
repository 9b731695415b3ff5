-- counts: booked and held seats of the event, exact at this instant. Two
-- O(1) / O(log n) reads; expired holds are simply not in the counted range.
--
-- KEYS[1]  <p>:{e:<id>}:loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:booked     hash seat -> booking id
-- KEYS[4]  <p>:{e:<id>}:pending    zset hold id -> ms its confirm began
-- ARGV[1]  ms after which a pending confirm counts as stale
--
-- Replies: {'not_loaded'} or {'counts', booked, held, stale}; held
-- includes pending; stale counts confirms pending for longer than ARGV[1].

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_loaded'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local booked = redis.call('HLEN', KEYS[3])
-- Every booked seat is also in the seat set at inf: take them out.
local held = redis.call('ZCOUNT', KEYS[2], '(' .. now, 'inf') - booked
if held < 0 then
  held = 0
end
local stale = redis.call('ZCOUNT', KEYS[4], '-inf', '(' .. (now - tonumber(ARGV[1])))
return {'counts', booked, held, stale}
