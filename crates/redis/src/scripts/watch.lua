-- watch: start (or keep) recording the event's seat changes, and answer
-- where a watcher starts: the seat states, the counts and the feed
-- position they reflect, in one atomic step.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  how long to keep recording without another watch or changes, ms
--
-- Replies: {'not_loaded'} | {'watch', state, booked, held, epoch, stream id}

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
arm(now, tonumber(ARGV[1]))
purge(now)
local last = feed_bounds()
local state = redis.call('GET', STATE)
local booked = redis.call('HLEN', BOOKED) - 1
local held = redis.call('HLEN', OWNERS) - 1
local epoch = redis.call('HGET', META, 'ep')
keep_alive(now, m[5], false)
return { 'watch', state, booked, held, epoch, last }
