-- idempotency_begin: claim an idempotency key for one request, or find
-- what happened to the first request that used it.
--
-- KEYS[1]  <p>:idem:{<caller>}:<key>  hash: state ("running" or "done"),
--          fp (the request's fingerprint), token (the claiming attempt),
--          and once done: status, ctype (content type), loc (Location), body
-- ARGV[1]  the request's fingerprint (hex SHA-256 of method, path and body)
-- ARGV[2]  a token naming this attempt (finish and abandon must show it)
-- ARGV[3]  lease, ms: how long the claim lasts if its process never
--          finishes it (a crash)
--
-- Replies:
--   {'started'}                          the key is now claimed by this attempt
--   {'mismatch'}                         the key was used with another request
--   {'in_use'}                           the first request is still running
--   {'done', status, ctype, loc, body}   the first request's response

local rec = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'ctype', 'loc', 'body')
if not rec[1] then
  redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'started'}
end
if rec[2] ~= ARGV[1] then
  return {'mismatch'}
end
if rec[1] ~= 'done' then
  return {'in_use'}
end
return {'done', rec[3], rec[4] or '', rec[5] or '', rec[6] or ''}
