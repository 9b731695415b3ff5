-- idempotency_abandon: give up a claim whose request failed on our side
-- (a 5xx), so the client's retry runs again instead of replaying a failure.
--
-- KEYS[1]  <p>:idem:{<caller>}:<key>  (see idempotency_begin.lua)
-- ARGV[1]  the token of the attempt that claimed the key
--
-- Replies: 1 released; 0 not this attempt's claim (left alone).

local rec = redis.call('HMGET', KEYS[1], 'state', 'token')
if rec[1] ~= 'running' or rec[2] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
