namespace Sluice.Core.Plans;

/// <summary>What a configured request limit counts by.</summary>
public enum LimitScope
{
    /// <summary>The joint rule: the limit applies per key across all IPs and, separately, per IP across all keys.</summary>
    KeyAndIp,

    /// <summary>Per key, across all IPs.</summary>
    Key,

    /// <summary>Per client IP (or IPv6 prefix), across all keys of the plan.</summary>
    Ip,
}
