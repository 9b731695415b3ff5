-- counts: booked and held seats of the event, exact at this instant. Two
-- O(1) / O(log n) reads; expired holds are simply not in the counted range.
--
-- KEYS[1]  <p>:{e:<id>}:loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:booked     hash seat -> booking id
--
-- Replies: {'not_loaded'} or {'counts', booked, held}; held includes pending.

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
return {'counts', booked, held}
