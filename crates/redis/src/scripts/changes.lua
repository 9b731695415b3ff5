-- changes: the recorded seat changes after a position, and keep recording.
-- Expired holds are freed first, so their expiry shows up as a change.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  the position's epoch
-- ARGV[2]  the position's stream id, "ms-seq"
-- ARGV[3]  the most changes to answer
-- ARGV[4]  how long to keep recording without another call, ms
--
-- Replies: {'not_loaded'} | {'gap'} | {'changes', id, seats, state, booked,
-- held, id, ...} (five items per change, oldest first)

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
arm(now, tonumber(ARGV[4]))
purge(now)
local after = ARGV[2]
keep_alive(now, m[5], false)
if redis.call('HGET', META, 'ep') ~= ARGV[1] or not id_parts(after) then
  return { 'gap' }
end
local last, deleted = feed_bounds()
-- Trimmed past it, or a position this feed never gave out.
if id_less(after, deleted) or id_less(last, after) then
  return { 'gap' }
end
local reply = { 'changes' }
for _, entry in ipairs(redis.call('XRANGE', FEED, '(' .. after, '+', 'COUNT', tonumber(ARGV[3]))) do
  local fields = {}
  for i = 1, #entry[2], 2 do
    fields[entry[2][i]] = entry[2][i + 1]
  end
  reply[#reply + 1] = entry[1]
  reply[#reply + 1] = fields.s
  reply[#reply + 1] = fields.t
  reply[#reply + 1] = fields.b
  reply[#reply + 1] = fields.h
end
return reply
