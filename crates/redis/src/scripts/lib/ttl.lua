-- lib/ttl.lua: bounded memory. Every key of the event but LOCK (its lease
-- is its own TTL) expires at one instant, min(last use + idle, until).
-- Refreshing on every call would cost a PEXPIREAT per key per call, so it
-- happens only when the last refresh is older than an eighth of the idle
-- time: amortized ~0, and an idle event goes within 7/8..8/8 of it.
-- Call it last: nothing after it may rely on a key still existing.
local function keep_alive(now, touched, until_ms, idle, force)
  idle = tonumber(idle)
  if not idle then
    return
  end
  if not force and now - (tonumber(touched) or 0) < idle / 8 then
    return
  end
  local at = math.min(now + idle, tonumber(until_ms) or (now + idle))
  if at <= now then
    -- Past `until`: the keys already expire by then; never cut them short.
    return
  end
  for _, key in ipairs({ META, STATE, BOOKED, OWNERS, HOLDS, EXP, PENDING, USERS, UNBOOKED }) do
    redis.call('PEXPIREAT', key, at)
  end
  -- LOCAL is never replicated nor written to the AOF, its TTL neither.
  redis.set_repl(redis.REPL_NONE)
  redis.call('PEXPIREAT', LOCAL, at)
  redis.set_repl(redis.REPL_ALL)
  redis.call('HSET', META, 'touched', now)
end
