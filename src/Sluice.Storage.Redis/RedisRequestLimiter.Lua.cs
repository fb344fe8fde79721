namespace Sluice.Storage.Redis;

public sealed partial class RedisRequestLimiter
{
    /// <summary>
    /// One decision, atomically. KEYS[1] = the clock, KEYS[2] = the request id, KEYS[3..] = one list per counter
    /// (admission times in ms, newest on the left). ARGV[1] = mode (a = admit, p = peek, r = release),
    /// ARGV[2] = time (ms) to use instead of Redis TIME (tests) or '', ARGV[3] = request-id TTL in ms,
    /// ARGV[4] = timestamp to release (mode r), then ARGV[5..] = limit, window-ms, days per counter (days is ''
    /// for a rolling window; for a calendar-day limit it is "previous start,start,end,next end" in ms, the zone's
    /// days around the gateway's clock, and the counter holds only times since the start of the day Redis's
    /// time falls into).
    /// Replies with integers: admitted (1/0), the time used, then used, reset-after, retry-after per counter.
    /// </summary>
    internal const string Script = """
        local mode = ARGV[1]
        if mode == 'a' then
          local done = redis.call('GET', KEYS[2])
          if done then
            local reply = {}
            for v in string.gmatch(done, '[^,]+') do reply[#reply + 1] = tonumber(v) end
            return reply
          end
        end
        local now
        if ARGV[2] ~= '' then
          now = tonumber(ARGV[2])
        else
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local last = tonumber(redis.call('GET', KEYS[1]) or '0')
        if now < last then now = last end
        redis.call('SET', KEYS[1], now, 'PX', 2592000000)
        local n = #KEYS - 2
        if mode == 'r' then
          local released = 0
          for i = 1, n do released = released + redis.call('LREM', KEYS[i + 2], -1, ARGV[4]) end
          return {released, now}
        end
        local used = {}
        local cutoff = {}
        local dayend = {}
        local admitted = 1
        for i = 1, n do
          local key = KEYS[i + 2]
          local limit = tonumber(ARGV[2 + 3 * i])
          local window = tonumber(ARGV[3 + 3 * i])
          local days = ARGV[4 + 3 * i]
          if days == '' then
            cutoff[i] = now - window
          else
            local b = {}
            for v in string.gmatch(days, '[^,]+') do b[#b + 1] = tonumber(v) end
            local start, finish = b[2], b[3]
            if now < start then start, finish = b[1], b[2] elseif now >= finish then start, finish = b[3], b[4] end
            cutoff[i] = start - 1
            dayend[i] = finish
          end
          while true do
            local oldest = redis.call('LINDEX', key, -1)
            if not oldest or tonumber(oldest) > cutoff[i] then break end
            redis.call('RPOP', key)
          end
          used[i] = redis.call('LLEN', key)
          if used[i] >= limit then admitted = 0 end
        end
        if mode == 'p' then admitted = 1 end
        local reply = {admitted, now}
        for i = 1, n do
          local key = KEYS[i + 2]
          local limit = tonumber(ARGV[2 + 3 * i])
          local window = tonumber(ARGV[3 + 3 * i])
          local count = used[i]
          local retry = 0
          if mode == 'p' then
            if count >= limit then admitted = 0 end
          end
          if count >= limit then
            if dayend[i] then
              retry = dayend[i] - now
            elseif limit == 0 then
              retry = window
            else
              retry = tonumber(redis.call('LINDEX', key, limit - count - 1)) + window - now
            end
            if retry < 1 then retry = 1 end
          end
          if admitted == 1 and mode == 'a' then
            redis.call('LPUSH', key, now)
            if dayend[i] then
              redis.call('PEXPIRE', key, dayend[i] - now)
            else
              redis.call('PEXPIRE', key, window)
            end
            count = count + 1
          end
          local reset = 0
          local oldest = redis.call('LINDEX', key, -1)
          if oldest then
            if dayend[i] then reset = dayend[i] - now else reset = tonumber(oldest) + window - now end
          end
          reply[#reply + 1] = count
          reply[#reply + 1] = reset
          reply[#reply + 1] = retry
        end
        if mode == 'p' then reply[1] = admitted end
        if mode == 'a' then
          redis.call('SET', KEYS[2], table.concat(reply, ','), 'PX', tonumber(ARGV[3]))
        end
        return reply
        """;
}
