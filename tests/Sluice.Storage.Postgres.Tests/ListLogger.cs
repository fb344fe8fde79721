using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>Keeps what is logged, to count what an operator would see in the log.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Event, string Message)> Entries { get; } = new();

    public int Count(string eventName) => Entries.Count(e => e.Event == eventName);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId.Name ?? "", formatter(state, exception)));
}
