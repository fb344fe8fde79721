namespace Sluice.Benchmarks;

/// <summary>
/// A clock the benchmark controls: every reading moves it forward by <see cref="Step"/> (zero stands still).
/// The limiter reads the clock exactly once per decision, so the step is the time between two requests.
/// Single-threaded use only.
/// </summary>
public sealed class SteppingClock : TimeProvider
{
    private long _ticks;

    public SteppingClock(DateTimeOffset start, TimeSpan step)
    {
        _ticks = start.UtcTicks;
        Step = step;
    }

    /// <summary>A fixed start, so that runs are comparable.</summary>
    public static DateTimeOffset Start { get; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public TimeSpan Step { get; set; }

    public override DateTimeOffset GetUtcNow()
    {
        _ticks += Step.Ticks;
        return new DateTimeOffset(_ticks, TimeSpan.Zero);
    }
}
