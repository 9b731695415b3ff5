-- lib/fence.lua: is the mirror ready, and is this server's data as new as
-- the mirror claims? A server restarted from an older snapshot or from its
-- AOF, or a promoted replica, has a mirror that may miss bookings: it must
-- be noticed before it serves a reserve.
--
-- The stamp (meta rid/ls/sec) and LOCAL are written by finish_load: the
-- server's run_id, its LASTSAVE, and the second (TIME) of the stamp. LOCAL
-- (run_id) is written with REPL_NONE: replicas and the AOF never get it.
--
-- 1. LOCAL must equal the stamped run_id: a promoted replica or a server
--    restarted from its AOF lacks it.
-- 2. Fast path: LASTSAVE equals the stamped one AND the stamp's second is
--    after it. A server sets LASTSAVE to its boot time when it starts and
--    to the save time after each save; a stamp written in a later second
--    than the last boot/save can never match a later boot (that boot's
--    LASTSAVE is at or after the stamp's second), so a restart from an RDB
--    snapshot always leaves the fast path.
--    The case neither catches: a replica that full-synced after the stamp
--    (the sync's RDB carries LOCAL) and booted in the very second of the
--    master's stamped LASTSAVE, promoted before it ever saves. Nodes
--    started together by a script are exactly that, so in a cluster the
--    stamp also names its node (meta nid = CLUSTER MYID, which no sync
--    copies): a mirror stamped on another node is stale. Off a cluster a
--    save on it (LASTSAVE moves) sends it to step 3, which catches it.
-- 3. Else INFO server (about 5 us in Lua, hence off the hot path): the same
--    run_id means a save happened here: restamp and pass. Another run_id:
--    mark the mirror stale, so the next load rebuilds it, and fail.
--
-- Cost, measured on Redis 7.0 here (a private server; redis-benchmark -c 8
-- of EVALSHA counts against a ready event, INFO commandstats
-- usec_per_call and the server thread's CPU per request, best of 3-4
-- rounds; this two-core machine was shared with builds, load average 6-10,
-- so absolute figures are inflated, ratios less so):
--   counts as shipped (fast path)       ~14 us/call, ~19 us CPU/request
--   counts without any fence check      ~14 us/call, ~18 us CPU/request
--   counts plus one INFO server         ~24 us/call, ~28 us CPU/request
--   SET, for scale                      0.3 us/call,  ~4 us CPU/request
-- The fast path (GET + LASTSAVE, two fields of the HMGET every gated
-- script does anyway) is within the noise; INFO would add ~10 us to every
-- call, hence the slow path only after a save or a restart.
-- redis.set_repl is server-side Lua: it works under EVALSHA, which is all
-- redis::Script sends (tests/redis/fence.rs shows the mark missing after
-- an AOF restart and on a replica).

-- The meta fields the mirror-gated scripts read, in this order: only what
-- every call needs (each field read costs on the hot path).
local function mirror_meta()
  return redis.call('HMGET', META, 'st', 'rid', 'ls', 'sec', 'due', 'w', 'nid')
end

local function mark_stale()
  redis.call('HSET', META, 'st', 'stale')
  -- A lock read back from an old snapshot would only delay the reload.
  redis.call('DEL', LOCK)
  return false
end

local function fenced(m, sec)
  if m[1] ~= 'ready' then
    return false
  end
  if not m[2] or redis.call('GET', LOCAL) ~= m[2] then
    return mark_stale()
  end
  if m[7] and redis.call('CLUSTER', 'MYID') ~= m[7] then
    return mark_stale()
  end
  local lastsave = redis.call('LASTSAVE')
  if tostring(lastsave) == m[3] and tonumber(m[4]) > lastsave then
    return true
  end
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  if run_id ~= m[2] then
    return mark_stale()
  end
  redis.call('HSET', META, 'ls', lastsave, 'sec', sec)
  return true
end
