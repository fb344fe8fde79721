namespace Sluice.Core.Limits;

/// <summary>What a limit counts by.</summary>
public enum LimitSubject
{
    /// <summary>Per API key, across every client address.</summary>
    Key,

    /// <summary>Per client address group, across every API key of the plan.</summary>
    Ip,
}
