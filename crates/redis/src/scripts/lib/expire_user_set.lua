-- Shared by abort_confirm and finish_confirm (prepended at build time).
-- A user's seat set lives as long as their longest hold; while one of their
-- holds is pending (score inf) it does not expire.
local function expire_user_set(key, now)
  if redis.call('ZCOUNT', key, 'inf', 'inf') > 0 then
    return
  end
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    local ms = tonumber(last[2]) - now + 1000
    if ms > 0 then
      redis.call('PEXPIRE', key, ms)
    else
      redis.call('DEL', key)
    end
  end
end

