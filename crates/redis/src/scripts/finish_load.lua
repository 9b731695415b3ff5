-- finish_load: end the load `token`: stamp the fence, and the event
-- answers again. Releases the lock if it is still this load's and sets
-- every key's TTL.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  the load's token
--
-- Replies: 'done' | 'stale' (not this load's turn: nothing changed)

local token = ARGV[1]
local m = redis.call('HMGET', META, 'st', 'tok')
if m[1] ~= 'loading' or m[2] ~= token then
  return 'stale'
end
local now, sec = clock()
-- Once per load, so INFO's cost does not matter here.
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
redis.call('HSET', META, 'st', 'ready', 'rid', run_id, 'ls', redis.call('LASTSAVE'), 'sec', sec)
-- In a cluster, the node's id too (lib/fence.lua); an error off a cluster.
local node = redis.pcall('CLUSTER', 'MYID')
if type(node) == 'string' then
  redis.call('HSET', META, 'nid', node)
else
  redis.call('HDEL', META, 'nid')
end
redis.call('DEL', UNBOOKED)
if redis.call('GET', LOCK) == token then
  redis.call('DEL', LOCK)
end
-- The node-local mark: neither replicated nor written to the AOF.
redis.set_repl(redis.REPL_NONE)
redis.call('SET', LOCAL, run_id)
redis.set_repl(redis.REPL_ALL)
keep_alive(now, nil, true)
return 'done'
