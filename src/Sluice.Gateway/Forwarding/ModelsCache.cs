using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The upstream's answer to <c>GET /v1/models</c>, kept for a short while: chat clients ask for it at every start,
/// and it is the same for every user. Only successful answers are kept. One fetch at a time, shared by every caller
/// that asks while it runs (so a hanging upstream costs each of them one timeout, not one each in turn).
/// </summary>
internal sealed class ModelsCache
{
    private readonly UpstreamClient _upstream;
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private Entry? _entry;
    private Task<Entry>? _fetching;

    public ModelsCache(UpstreamClient upstream, TimeProvider time, IOptions<UpstreamOptions> options, ILogger<ModelsCache> logger)
    {
        _upstream = upstream;
        _time = time;
        _duration = options.Value.ModelsCacheDuration;
        _logger = logger;
    }

    /// <summary>The cached or freshly fetched answer; <see cref="Entry.Failure"/> says when there is none.</summary>
    public Task<Entry> GetAsync(CancellationToken cancellationToken)
    {
        Task<Entry> fetching;
        lock (_lock)
        {
            if (Fresh(_entry) is { } cached)
            {
                return Task.FromResult(cached);
            }
            fetching = _fetching ??= FetchAsync();
        }
        return fetching.WaitAsync(cancellationToken);
    }

    private Entry? Fresh(Entry? entry) => entry is not null && _time.GetTimestamp() < entry.ExpiresAt ? entry : null;

    /// <summary>One fetch on behalf of every caller: it does not stop when one of them goes away, only at the upstream timeout.</summary>
    private async Task<Entry> FetchAsync()
    {
        // Started under the lock in GetAsync: yield first, so that the fetch never completes (and clears
        // _fetching) before GetAsync has stored it.
        await Task.Yield();
        Entry fetched;
        using (var timeout = new CancellationTokenSource(_upstream.Timeout))
        {
            fetched = await SendAsync(timeout.Token);
        }
        lock (_lock)
        {
            if (fetched.Status == 200)
            {
                _entry = fetched;
            }
            _fetching = null;
        }
        return fetched;
    }

    private async Task<Entry> SendAsync(CancellationToken timeout)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _upstream.DestinationPrefix + "/v1/models")
        {
            Version = UpstreamClient.Version,
            VersionPolicy = UpstreamClient.VersionPolicy,
        };
        if (_upstream.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _upstream.Authorization);
        }
        try
        {
            using var response = await _upstream.Invoker.SendAsync(request, timeout);
            var body = await response.Content.ReadAsByteArrayAsync(timeout);
            var contentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            var expires = _time.GetTimestamp() + (long)(_duration.TotalSeconds * _time.TimestampFrequency);
            return new Entry((int)response.StatusCode, contentType, body, expires, null, UpstreamRefusals.RetryAfter(response.Headers.RetryAfter));
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
        {
            ForwardingLog.ModelsFetchFailed(_logger, ForwardingLog.Reason(exception));
            return new Entry(0, "", [], 0, exception is OperationCanceledException ? FetchFailure.TimedOut : FetchFailure.Unreachable, null);
        }
    }

    internal enum FetchFailure
    {
        Unreachable,
        TimedOut,
    }

    /// <summary>The upstream's answer, or why there is none (<see cref="Failure"/>).</summary>
    internal sealed record Entry(int Status, string ContentType, byte[] Body, long ExpiresAt, FetchFailure? Failure, TimeSpan? RetryAfter);
}
