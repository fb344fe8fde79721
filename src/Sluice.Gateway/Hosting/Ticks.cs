namespace Sluice.Gateway.Hosting;

/// <summary>Waits for a periodic timer's next tick; false once stopping, instead of an exception.</summary>
internal static class Ticks
{
    public static async ValueTask<bool> NextAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken) && !cancellationToken.IsCancellationRequested;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
