using Sluice.Core.Clients;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;

namespace Sluice.Gateway.Hosting;

/// <summary>What Sluice learns about one request as it passes each step; read by later steps and the log.</summary>
public sealed class SluiceRequestFeature
{
    public ClientAddress Client { get; set; }

    public ApiKey? Key { get; set; }

    public Plan? Plan { get; set; }

    /// <summary>The <c>model</c> of a JSON body, when there is one.</summary>
    public string? Model { get; set; }

    /// <summary>The <c>stream</c> flag of a JSON body.</summary>
    public bool Stream { get; set; }

    public LimitCheck[]? Checks { get; set; }

    public AdmissionResult? Admission { get; set; }

    /// <summary>The upstream failed (unreachable, timed out, or broke off a started answer).</summary>
    public bool UpstreamFailed { get; set; }
}
