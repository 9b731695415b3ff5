-- stale_pending: the holds whose confirm began more than ARGV[1] ms ago
-- and never finished nor aborted (the process died, or the store failed as
-- it finished). The caller reads their records and reconciles them.
--
-- KEYS[1]  <p>:{e:<id>}:pending    zset hold id -> ms its confirm began
-- ARGV[1]  age in ms
--
-- Replies: up to 100 hold ids, oldest first.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])), 'LIMIT', 0, 100)
