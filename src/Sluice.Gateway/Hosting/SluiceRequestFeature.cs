using Sluice.Core.Billing;
using Sluice.Core.Clients;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Models;
using Sluice.Core.Plans;

namespace Sluice.Gateway.Hosting;

/// <summary>What Sluice learns about one request as it passes each step; read by later steps and the log.</summary>
public sealed class SluiceRequestFeature
{
    private string? _requestId;

    /// <summary>This call's id in the limiter (idempotency), the balance holds and the ledger: unique across instances.</summary>
    public string RequestId => _requestId ??= RequestIds.Next();

    public ClientAddress Client { get; set; }

    public ApiKey? Key { get; set; }

    public Plan? Plan { get; set; }

    /// <summary>The <c>model</c> of a JSON body, when there is one.</summary>
    public string? Model { get; set; }

    /// <summary>The <c>stream</c> flag of a JSON body.</summary>
    public bool Stream { get; set; }

    /// <summary>Whether the client itself asked for <c>stream_options.include_usage</c>.</summary>
    public bool ClientAskedForUsage { get; set; }

    /// <summary>Whether the body has a <c>stream_options</c> member at all (an object, or null).</summary>
    public bool HasStreamOptions { get; set; }

    /// <summary><c>max_completion_tokens</c> or <c>max_tokens</c> of the body.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>How many answers the call asks for (<c>n</c>; 1 when absent): prepaid holds cover each.</summary>
    public int Choices { get; set; } = 1;

    /// <summary>The JSON body as read (and forwarded), or empty.</summary>
    public ReadOnlyMemory<byte> Body { get; set; }

    /// <summary>Which kind of call this is, from its path (chat, embeddings, …).</summary>
    public ModelFamily Family { get; set; } = ModelFamily.Other;

    /// <summary>What the plan says about the model: allowed, its cap, its price.</summary>
    public ModelRules? Rules { get; set; }

    /// <summary>The prompt's tokens, once counted (the prompt cap and prepaid holds count them).</summary>
    public long? PromptTokens { get; set; }

    public LimitCheck[]? Checks { get; set; }

    public AdmissionResult? Admission { get; set; }

    /// <summary>
    /// The admission the rate-limit headers of the answer report: when the call failed upstream and the plan gives
    /// such calls back (as metering does once the answer is out), the counters without it.
    /// </summary>
    public AdmissionResult? AdmissionToReport(bool failed) => GivesBack(failed) ? Admission!.GivenBack() : Admission;

    /// <summary>
    /// Whether this call, having <paramref name="failed"/> upstream, is given back to every limit and cap: it was
    /// admitted and its plan gives failed calls back (the default). Metering does it; the headers report it.
    /// </summary>
    public bool GivesBack(bool failed) => failed && Plan is { GiveBackFailedCalls: true } && Admission is { Admitted: true };

    /// <summary>The amount held on a prepaid balance for this call.</summary>
    public Money? Held { get; set; }

    /// <summary>The upstream failed (unreachable, timed out, or broke off a started answer).</summary>
    public bool UpstreamFailed { get; set; }

    /// <summary>The upstream failed after part of its answer was already with the client: the client saw the
    /// answer cut (the access log and the ledger say 502), not an error written by Sluice.</summary>
    public bool UpstreamBrokeOff { get; set; }
}
