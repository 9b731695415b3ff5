-- lib/ttl.lua: bounded memory. Every key of the event but LOCK (its lease
-- is its own TTL) expires at one instant, min(last use + idle, until).
-- Refreshing on every call would cost a PEXPIREAT per key per call, so it
-- happens only once meta's `due` (set to an eighth of the idle time after
-- each refresh) has passed: amortized ~0, and an idle event goes within
-- 7/8..8/8 of the idle time. `due` is read by the caller with its own meta
-- fields; `until` and `idle` only when a refresh is due. Call it last:
-- nothing after it may rely on a key still existing.
local function keep_alive(now, due, force)
  if not force and now < (tonumber(due) or 0) then
    return
  end
  local m = redis.call('HMGET', META, 'until', 'idle')
  local idle = tonumber(m[2])
  if not idle then
    return
  end
  local at = math.min(now + idle, tonumber(m[1]) or (now + idle))
  if at <= now then
    -- Past `until`: the keys already expire by then; never cut them short.
    return
  end
  for _, key in ipairs({ META, STATE, BOOKED, OWNERS, HOLDS, EXP, PENDING, USERS, UNBOOKED, FEED }) do
    redis.call('PEXPIREAT', key, at)
  end
  -- LOCAL is never replicated nor written to the AOF, its TTL neither.
  redis.set_repl(redis.REPL_NONE)
  redis.call('PEXPIREAT', LOCAL, at)
  redis.set_repl(redis.REPL_ALL)
  redis.call('HSET', META, 'due', now + math.floor(idle / 8))
end
