-- abandon_load: give up the load `token` after a failure, releasing the
-- event's load lock so another load may begin at once instead of when the
-- lease runs out. The event stays not loaded. Harmless for a token that is
-- no longer current.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  token
--
-- Replies: 1 when the lock was this token's and is released, else 0.

if redis.call('GET', LOCK) == ARGV[1] then
  redis.call('DEL', LOCK)
  return 1
end
return 0
