-- seat_map: every seat's state at this instant, one byte per seat in venue
-- order: '0' available, '1' held or pending, '2' booked.
--
-- KEYS     every key of the event, as lib/common.lua names them
--
-- Replies: {'not_loaded'} | {'map', state}

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
purge(now)
local state = redis.call('GET', STATE)
keep_alive(now, m[5], false)
return { 'map', state }
