using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Sluice.Testing;

/// <summary>POSIX signals for the processes a test starts (Linux numbers): a service manager's SIGTERM, and SIGSTOP /
/// SIGCONT to freeze a server as a hung host would.</summary>
public static class Signals
{
    public const int Term = 15;
    public const int Cont = 18;
    public const int Stop = 19;

    public static void Send(Process process, int signal)
    {
        if (Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
