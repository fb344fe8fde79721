using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The upstream's answer to <c>GET /v1/models</c>, kept for a short while: chat clients ask for it at every start,
/// and it is the same for every user. Only successful answers are kept; one fetch at a time.
/// </summary>
internal sealed class ModelsCache : IDisposable
{
    private readonly UpstreamClient _upstream;
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Entry? _entry;

    public ModelsCache(UpstreamClient upstream, TimeProvider time, IOptions<UpstreamOptions> options, ILogger<ModelsCache> logger)
    {
        _upstream = upstream;
        _time = time;
        _duration = options.Value.ModelsCacheDuration;
        _logger = logger;
    }

    /// <summary>The cached or freshly fetched answer; null when the upstream could not be reached.</summary>
    public async Task<Entry?> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(_entry) is { } cached)
        {
            return cached;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Fresh(_entry) is { } again)
            {
                return again;
            }
            var fetched = await FetchAsync(cancellationToken);
            if (fetched is { Status: 200 })
            {
                _entry = fetched;
            }
            return fetched;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private Entry? Fresh(Entry? entry) => entry is not null && _time.GetTimestamp() < entry.ExpiresAt ? entry : null;

    private async Task<Entry?> FetchAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_upstream.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, _upstream.DestinationPrefix + "/v1/models");
        if (_upstream.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _upstream.Authorization);
        }
        try
        {
            using var response = await _upstream.Invoker.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var contentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            var expires = _time.GetTimestamp() + (long)(_duration.TotalSeconds * _time.TimestampFrequency);
            return new Entry((int)response.StatusCode, contentType, body, expires);
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            ForwardingLog.ModelsFetchFailed(_logger, exception.Message);
            return null;
        }
    }

    internal sealed record Entry(int Status, string ContentType, byte[] Body, long ExpiresAt);
}
