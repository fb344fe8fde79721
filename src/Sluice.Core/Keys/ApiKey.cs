namespace Sluice.Core.Keys;

/// <summary>An API key as Sluice knows it: never the secret, only its hash and display form.</summary>
public sealed record ApiKey
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Plan { get; init; }

    public required KeyHash Hash { get; init; }

    /// <summary>The safe display form, e.g. <c>sk-abcd…wxyz</c>.</summary>
    public required string Display { get; init; }

    public required DateTimeOffset Created { get; init; }

    public DateTimeOffset? Revoked { get; init; }

    /// <summary>Monotonic change number in the store, used to pick up changes made elsewhere.</summary>
    public long Version { get; init; }

    public bool IsRevoked => Revoked is not null;
}
