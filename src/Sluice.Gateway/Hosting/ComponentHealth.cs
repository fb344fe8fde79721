using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Sluice.Gateway.Hosting;

/// <summary>A part of the gateway that reports how it is on <c>/healthz</c> (the key store's sync, the ledger writer,
/// the limiter).</summary>
internal interface IComponentHealth
{
    HealthCheckResult Health { get; }
}

/// <summary>The health check of one <see cref="IComponentHealth"/>: it asks the component, which knows its own state.</summary>
internal sealed class ComponentHealthCheck(IComponentHealth component) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(component.Health);
}

/// <summary>
/// A component's current trouble: what went wrong and since when, kept from its first failure until it works again
/// (a failure that repeats keeps its first time and its latest reason).
/// </summary>
internal sealed class Trouble(TimeProvider time)
{
    private State? _state;

    /// <summary>The trouble now, or null when there is none.</summary>
    public (DateTimeOffset Since, string Reason)? Current => Volatile.Read(ref _state) is { } state ? (state.Since, state.Reason) : null;

    /// <summary>Records a failure; true when it is the first since the component last worked (log it then).</summary>
    public bool Fail(string reason)
    {
        var previous = Volatile.Read(ref _state);
        Volatile.Write(ref _state, new State(previous?.Since ?? time.GetUtcNow(), reason));
        return previous is null;
    }

    /// <summary>The component works again; true when it had been failing (log it then).</summary>
    public bool Clear() => Interlocked.Exchange(ref _state, null) is not null;

    /// <summary>Degraded (or <paramref name="status"/>) with the trouble's reason and time, else healthy with
    /// <paramref name="healthy"/>.</summary>
    public HealthCheckResult Result(string healthy, HealthStatus status = HealthStatus.Degraded) => Current is { } trouble
        ? Report(status, trouble.Reason, trouble.Since)
        : HealthCheckResult.Healthy(healthy);

    /// <summary>A part in trouble since <paramref name="since"/>, as <c>/healthz</c> shows it.</summary>
    public static HealthCheckResult Report(HealthStatus status, string reason, DateTimeOffset since) =>
        new(status, reason, data: new Dictionary<string, object> { [SinceKey] = since });

    /// <summary>Where <see cref="Report"/> keeps the time the trouble began.</summary>
    public const string SinceKey = "since";

    private sealed record State(DateTimeOffset Since, string Reason);
}

/// <summary>
/// <c>/healthz</c>'s answer: the overall status and each component's, with what is wrong and since when, e.g.
/// <c>{"status":"Degraded","components":{"keys":{"status":"Healthy","description":"3 keys, …"},"ledger":{"status":"Degraded","description":"Writing the usage ledger fails (…)","since":"…"},…}}</c>.
/// The status code is the health checks' own: 200 when healthy or degraded, 503 when unhealthy.
/// </summary>
internal static class HealthReportWriter
{
    public static async Task WriteAsync(Microsoft.AspNetCore.Http.HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        // Plain quotes in the descriptions (outage policy 'local'), not \u0027: the body is JSON, never HTML.
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("components");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                if (entry.Description is not null)
                {
                    json.WriteString("description", entry.Description);
                }
                if (entry.Data.TryGetValue(Trouble.SinceKey, out var since) && since is DateTimeOffset time)
                {
                    json.WriteString("since", time);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
