-- idempotency_finish: keep the response of a claimed key for replays.
--
-- KEYS[1]  <p>:idem:{<caller>}:<key>  (see idempotency_begin.lua)
-- ARGV[1]  the token of the attempt that claimed the key
-- ARGV[2]  retention, ms: how long the response is replayed
-- ARGV[3]  status, ARGV[4] content type, ARGV[5] Location, ARGV[6] body
--
-- Replies: 1 stored; 0 the claim was lost (its lease ran out, or the data
-- was lost) and nothing was written, so no other attempt is overwritten.

if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'ctype', ARGV[4],
  'loc', ARGV[5], 'body', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
