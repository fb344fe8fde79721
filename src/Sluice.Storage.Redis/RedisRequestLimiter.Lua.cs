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
    /// Replies with integers: admitted (1/0), the time used, then used, reset-after, retry-after per counter (mode r:
    /// released, the time used). An admission stores the same integers, separated by commas, under the request id,
    /// so that a retried decision gets them back as they were.
    /// Every number that goes to Redis or into that text is made with <c>string.format('%d')</c> or passed on as
    /// the argument's own string: a Lua number given to <c>redis.call</c> or <c>table.concat</c> is formatted with
    /// <c>%.14g</c>, glibc's floating-point formatting, the largest single cost in a profile of Redis running the
    /// script (docs/benchmarks.md, 4.10). The oldest time read while trimming is the one the reset is computed
    /// from, and the clock is written only when it moves.
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
        if now > last then
          redis.call('SET', KEYS[1], string.format('%d', now), 'PX', '2592000000')
        else
          now = last
        end
        local stamp = string.format('%d', now)
        local n = #KEYS - 2
        if mode == 'r' then
          local released = 0
          for i = 1, n do released = released + redis.call('LREM', KEYS[i + 2], '-1', ARGV[4]) end
          return {released, now}
        end
        local limits, windows, used, oldest, cutoff, dayend = {}, {}, {}, {}, {}, {}
        local admitted = 1
        for i = 1, n do
          local key = KEYS[i + 2]
          limits[i] = tonumber(ARGV[2 + 3 * i])
          windows[i] = tonumber(ARGV[3 + 3 * i])
          local days = ARGV[4 + 3 * i]
          if days == '' then
            cutoff[i] = now - windows[i]
          else
            local b = {}
            for v in string.gmatch(days, '[^,]+') do b[#b + 1] = tonumber(v) end
            local start, finish = b[2], b[3]
            if now < start then start, finish = b[1], b[2] elseif now >= finish then start, finish = b[3], b[4] end
            cutoff[i] = start - 1
            dayend[i] = finish
          end
          local first
          while true do
            first = redis.call('LINDEX', key, '-1')
            if not first then break end
            first = tonumber(first)
            if first > cutoff[i] then break end
            redis.call('RPOP', key)
          end
          oldest[i] = first
          used[i] = redis.call('LLEN', key)
          if used[i] >= limits[i] then admitted = 0 end
        end
        local reply = {admitted, now}
        for i = 1, n do
          local key = KEYS[i + 2]
          local limit, window, count, first = limits[i], windows[i], used[i], oldest[i]
          local retry = 0
          if count >= limit then
            if dayend[i] then
              retry = dayend[i] - now
            elseif limit == 0 then
              retry = window
            else
              retry = tonumber(redis.call('LINDEX', key, string.format('%d', limit - count - 1))) + window - now
            end
            if retry < 1 then retry = 1 end
          end
          if admitted == 1 and mode == 'a' then
            redis.call('LPUSH', key, stamp)
            if dayend[i] then
              redis.call('PEXPIRE', key, string.format('%d', dayend[i] - now))
            else
              redis.call('PEXPIRE', key, ARGV[3 + 3 * i])
            end
            count = count + 1
            if not first then first = now end
          end
          local reset = 0
          if first then
            if dayend[i] then reset = dayend[i] - now else reset = first + window - now end
          end
          reply[#reply + 1] = count
          reply[#reply + 1] = reset
          reply[#reply + 1] = retry
        end
        if mode == 'a' then
          local text = {}
          for j = 1, #reply do text[j] = string.format('%d', reply[j]) end
          redis.call('SET', KEYS[2], table.concat(text, ','), 'PX', ARGV[3])
        end
        return reply
        """;
}
