-- load: merge the event's booked seats from the source of truth into the
-- mirror and mark it loaded, in one atomic step. Holds already present are
-- kept, but booked seats win over them. Entries already in the mirror are
-- kept too: a booking finished since the caller's snapshot must not vanish.
--
-- KEYS[1]  <p>:{e:<id>}:loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:owners     hash seat -> hold id
-- KEYS[4]  <p>:{e:<id>}:booked     hash seat -> booking id
-- KEYS[5]  <p>:{e:<id>}:loading    set by begin_load
-- ARGV     seat, booking id, seat, booking id, ...
--
-- Replies: 1 when loaded; 0 (stale) when `loading` is gone: the data was
-- lost after the caller read its snapshot, which may then miss a booking
-- that was finished into the lost data. The caller begins again.

if redis.call('EXISTS', KEYS[5]) == 0 then
  return 0
end

for i = 1, #ARGV - 1, 2 do
  local seat = ARGV[i]
  redis.call('HSET', KEYS[4], seat, ARGV[i + 1])
  redis.call('ZADD', KEYS[2], 'inf', seat)
  redis.call('HDEL', KEYS[3], seat)
end
redis.call('SET', KEYS[1], '1')
return 1
