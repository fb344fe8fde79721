using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sluice.Storage.Postgres;

namespace Sluice.Gateway.Storage;

/// <summary>
/// With PostgreSQL, runs the <see cref="PostgresChangeListener"/> from the moment the gateway has started (keys are
/// loaded by then) until it stops. The half-second poll of <c>KeyDirectorySync</c> stays on as the safety net.
/// </summary>
internal sealed class PostgresChangeNotifications : IHostedLifecycleService, IDisposable
{
    private readonly PostgresOptions _options;
    private readonly IServiceProvider _services;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public PostgresChangeNotifications(IOptions<PostgresOptions> options, IServiceProvider services)
    {
        _options = options.Value;
        _services = services;
    }

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (_options.Enabled)
        {
            var listener = _services.GetRequiredService<PostgresChangeListener>();
            _loop = Task.Run(() => listener.RunAsync(_stopping.Token), CancellationToken.None);
        }
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();
}
