-- lib/best.lua, for reserve: the best `k` available seats. `k` adjacent
-- seats in the lowest row that has them (lowest seats within it), else
-- the first `k` available in venue order. Searches the state string with
-- string.find (C speed), never seat by seat over the event; the row ends
-- are read only when a match must be checked against them.
-- Returns the seats and, when adjacent, the first of them; nil when fewer
-- than `k` seats are available.

-- The row containing `seat`: its last seat. `ends` lists the last seat of
-- every row but the last, ascending.
local function row_end(ends, seat, n)
  local lo, hi = 1, #ends
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    if ends[mid] < seat then
      lo = mid + 1
    else
      hi = mid - 1
    end
  end
  return ends[lo] or n
end

local function best(k)
  local layout = redis.call('HMGET', META, 'n', 'rows')
  local n = tonumber(layout[1])
  -- Every seat is available, held/pending (owners) or booked: O(1) to
  -- know there are too few.
  local free = n - (redis.call('HLEN', BOOKED) - 1) - (redis.call('HLEN', OWNERS) - 1)
  if k < 1 or free < k then
    return nil
  end
  local state = redis.call('GET', STATE)
  local want = string.rep('0', k)
  local ends
  local init = 1
  while true do
    local at = string.find(state, want, init, true)
    if not at then
      break
    end
    if not ends then
      ends = {}
      for e in string.gmatch(layout[2] or '', '%d+') do
        ends[#ends + 1] = tonumber(e)
      end
    end
    local last = row_end(ends, at, n)
    if at + k - 1 <= last then
      local seats = {}
      for i = 1, k do
        seats[i] = at + i - 1
      end
      return seats, at
    end
    -- Every later match starting in this row crosses its end too.
    init = last + 1
  end
  local seats = {}
  init = 1
  for i = 1, k do
    local at = string.find(state, '0', init, true)
    if not at then
      return nil
    end
    seats[i] = at
    init = at + 1
  end
  return seats, nil
end
