using System.Collections.Concurrent;

namespace Sluice.Core.Limits;

/// <summary>
/// Numbers the counter scopes (<c>free:key</c>, <c>free:ip</c>, …) of this process, from 1, so that the embedded
/// limiter can store a scope as an integer. There are as many as the plans have limits; the numbers are not
/// stable across processes (snapshots store the scope's name).
/// </summary>
internal static class CounterScopes
{
    private static readonly ConcurrentDictionary<string, int> s_ids = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<int, string> s_names = new();
    private static int s_last;

    public static int IdOf(string scope)
    {
        if (s_ids.TryGetValue(scope, out var id))
        {
            return id;
        }
        lock (s_names)
        {
            if (!s_ids.TryGetValue(scope, out id))
            {
                id = ++s_last;
                s_names[id] = scope;
                s_ids[scope] = id;
            }
            return id;
        }
    }

    public static string NameOf(int id) => s_names[id];
}
