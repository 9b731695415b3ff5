-- stale_pending: the holds whose confirm began more than ARGV[1] ms ago and
-- never finished nor aborted, with their records, in one call.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  age, ms
--
-- Replies: {'stale', id, record, id, record, ...}: at most 100, oldest
-- first. An id whose record is gone is dropped from `pending`.

local now = clock()
local before = '(' .. string.format('%d', now - tonumber(ARGV[1]))
local ids = redis.call('ZRANGEBYSCORE', PENDING, '-inf', before, 'LIMIT', 0, 100)
local reply = { 'stale' }
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', HOLDS, id)
  if rec then
    reply[#reply + 1] = id
    reply[#reply + 1] = rec
  else
    redis.call('ZREM', PENDING, id)
  end
end
return reply
