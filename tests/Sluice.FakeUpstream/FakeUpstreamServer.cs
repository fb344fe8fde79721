using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sluice.FakeUpstream;

/// <summary>A fake OpenAI-compatible upstream on 127.0.0.1, in process: chat completions (stream and not), legacy
/// completions, embeddings and models, with OpenAI's JSON shapes, errors and headers, and injectable failures.</summary>
/// <remarks>Control endpoints (not recorded, no latency, no API key): <c>GET /_fake/stats</c>,
/// <c>GET|POST|DELETE /_fake/failure</c>, <c>POST /_fake/reset</c>, <c>GET|POST /_fake/options</c>,
/// <c>GET /_fake/requests</c>.</remarks>
public sealed class FakeUpstreamServer : IAsyncDisposable
{
    /// <summary>The most requests kept for <see cref="Requests"/>; older ones are dropped.</summary>
    public const int MaxRecordedRequests = 10_000;

    private readonly WebApplication _app;
    private readonly Lock _recordedLock = new();
    private readonly Queue<RecordEntry> _recorded = new();
    private readonly RequestLog _log = new();
    private int _requestCount;
    private int _canceledCount;
    private int _activeRequests;
    private int _generation;
    private int _waiters;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FailureState? _failure;
    private volatile bool _stopping;
    private int _disposed;

    private FakeUpstreamServer(WebApplication app, FakeUpstreamOptions options)
    {
        _app = app;
        Options = options;
    }

    /// <summary>Starts a server on 127.0.0.1:<see cref="FakeUpstreamOptions.Port"/> (0: a free port).</summary>
    public static async Task<FakeUpstreamServer> StartAsync(FakeUpstreamOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, IPEndPoint.MaxPort);

        // The empty builder reads no appsettings.json or environment, so a test's configuration cannot change the fake.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FakeUpstreamServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var certificate = options.Https ? LoopbackCertificate.Create("CN=Sluice fake upstream") : null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, options.Port, listen =>
            {
                if (certificate is not null)
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
        });
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        // Not the console lifetime: the host of a test must not take Ctrl-C. Program handles signals itself.
        builder.Services.AddSingleton<IHostLifetime>(new NoLifetime());
        // Stopping aborts what is still running (hanging requests included) instead of waiting for it.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.Zero);

        // As api.openai.com does: JSON answers are gzip-compressed for a client that accepts it.
        builder.Services.AddResponseCompression(compression =>
        {
            compression.EnableForHttps = true;
            compression.Providers.Add<GzipCompressionProvider>();
            compression.MimeTypes = ["application/json"];
        });

        var app = builder.Build();
        var server = new FakeUpstreamServer(app, options) { CertificatePem = certificate?.ExportCertificatePem() };
        var pipeline = new Pipeline(server);
        app.Use((context, next) =>
        {
            if (options.CompressAlways)
            {
                context.Request.Headers.AcceptEncoding = "gzip";
            }
            return next(context);
        });
        app.UseResponseCompression();
        app.Run(pipeline.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.Port = new Uri(address).Port;
        server.BaseUrl = $"{(certificate is null ? "http" : "https")}://127.0.0.1:{server.Port}";
        return server;
    }

    /// <summary>With <see cref="FakeUpstreamOptions.Https"/>: the server's certificate (PEM, public part only), for a
    /// client to trust; else null.</summary>
    public string? CertificatePem { get; private init; }

    /// <summary>e.g. <c>http://127.0.0.1:43121</c>, without a trailing slash.</summary>
    public string BaseUrl { get; private set; } = "";

    public int Port { get; private set; }

    /// <summary>The options the server was started with; changes take effect on the next request.</summary>
    public FakeUpstreamOptions Options { get; }

    /// <summary>
    /// Called before each server-sent event of a stream with the number of events already sent and the request's
    /// abort token; a test awaits its own signal here to release events one at a time (a relay that buffered
    /// would then stall). Null: events go out as fast as <see cref="FakeUpstreamOptions.ChunkDelay"/> allows.
    /// </summary>
    public Func<int, CancellationToken, Task>? BeforeChunk { get; set; }

    /// <summary>A failure injected into every following request (except <c>/_fake/*</c>) until cleared, or into the
    /// next <see cref="FakeFailure.Times"/> requests. Null once those are used up.</summary>
    public FakeFailure? Failure
    {
        get => Volatile.Read(ref _failure) is { } state && state.Active ? state.Failure : null;
        set
        {
            value?.Validate();
            Volatile.Write(ref _failure, value is null ? null : new FailureState(value));
        }
    }

    /// <summary>A copy of the recorded requests (oldest first; at most <see cref="MaxRecordedRequests"/>).</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_recordedLock)
            {
                return [.. _recorded.Select(entry => entry.ToRecord())];
            }
        }
    }

    /// <summary>Requests received since start or <see cref="Reset"/> (except <c>/_fake/*</c>), recorded or not.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Requests whose client went away before the fake finished answering (not those the fake cut itself).</summary>
    public int CanceledCount => Volatile.Read(ref _canceledCount);

    /// <summary>Requests being answered now.</summary>
    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    /// <summary>Completes when <see cref="CanceledCount"/> ≥ <paramref name="count"/>; throws <see cref="TimeoutException"/>
    /// after <paramref name="timeout"/>.</summary>
    public Task WhenCanceledAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WhenAsync(server => server.CanceledCount >= count, timeout, $"{count} canceled request(s)", cancellationToken);

    /// <summary>Completes when <see cref="RequestCount"/> ≥ <paramref name="count"/>; throws <see cref="TimeoutException"/>
    /// after <paramref name="timeout"/>.</summary>
    public Task WhenRequestCountAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WhenAsync(server => server.RequestCount >= count, timeout, $"{count} request(s)", cancellationToken);

    /// <summary>Completes when no request is being answered; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public Task WhenIdleAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WhenAsync(server => server.ActiveRequests == 0, timeout, "no active request", cancellationToken);

    /// <summary>Completes when <paramref name="condition"/> holds; it is checked now and whenever a request starts or
    /// ends. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task WhenAsync(Func<FakeUpstreamServer, bool> condition, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _waiters);
        try
        {
            while (true)
            {
                var changed = Volatile.Read(ref _changed).Task;
                if (condition(this))
                {
                    return;
                }
                var remaining = timeout - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException(
                        $"The fake upstream did not reach {description ?? "the condition"} within {timeout.TotalSeconds:0.###} s "
                        + $"(requests {RequestCount}, canceled {CanceledCount}, active {ActiveRequests}).");
                }
                try
                {
                    await changed.WaitAsync(remaining, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // Checked once more at the top of the loop.
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>Forgets the recorded requests, zeroes the request and canceled counters and clears <see cref="Failure"/>.
    /// Requests already in flight are not counted as canceled afterwards.</summary>
    public void Reset()
    {
        Interlocked.Increment(ref _generation);
        lock (_recordedLock)
        {
            _recorded.Clear();
        }
        Volatile.Write(ref _requestCount, 0);
        Volatile.Write(ref _canceledCount, 0);
        Failure = null;
        Pulse();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping = true;
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
            await _log.DisposeAsync();
        }
    }

    internal bool Stopping => _stopping;

    internal Exchange Begin(HttpContext context)
    {
        Interlocked.Increment(ref _requestCount);
        Interlocked.Increment(ref _activeRequests);
        Pulse();
        return new Exchange(this, context, Volatile.Read(ref _generation));
    }

    internal void Record(Exchange exchange, RecordEntry entry)
    {
        exchange.Entry = entry;
        lock (_recordedLock)
        {
            _recorded.Enqueue(entry);
            while (_recorded.Count > MaxRecordedRequests)
            {
                _recorded.Dequeue();
            }
        }
    }

    internal void End(Exchange exchange, bool canceled)
    {
        if (canceled)
        {
            exchange.Entry?.Canceled = true;
            if (exchange.Generation == Volatile.Read(ref _generation))
            {
                Interlocked.Increment(ref _canceledCount);
            }
        }
        Interlocked.Decrement(ref _activeRequests);
        Pulse();
        if (!Options.Quiet)
        {
            _log.Write(exchange, canceled);
        }
    }

    /// <summary>The server-wide failure for one request, using up one of its <see cref="FakeFailure.Times"/>.</summary>
    internal FakeFailure? TakeFailure()
    {
        var state = Volatile.Read(ref _failure);
        if (state is null)
        {
            return null;
        }
        if (state.TryTake())
        {
            return state.Failure;
        }
        Interlocked.CompareExchange(ref _failure, null, state);
        return null;
    }

    internal IEnumerable<RecordEntry> RecordedEntries()
    {
        lock (_recordedLock)
        {
            return [.. _recorded];
        }
    }

    private void Pulse()
    {
        if (Volatile.Read(ref _waiters) == 0)
        {
            return;
        }
        var previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    private sealed class FailureState(FakeFailure failure)
    {
        private int _remaining = failure.Times ?? int.MaxValue;

        public FakeFailure Failure => failure;

        public bool Active => failure.Times is null || Volatile.Read(ref _remaining) > 0;

        public bool TryTake() => failure.Times is null || Interlocked.Decrement(ref _remaining) >= 0;
    }

    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
