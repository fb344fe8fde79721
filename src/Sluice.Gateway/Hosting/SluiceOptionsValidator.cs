using Microsoft.Extensions.Options;
using Sluice.Core.Plans;

namespace Sluice.Gateway.Hosting;

/// <summary>Checks the data directory setting and compiles every plan, reporting all problems at once.</summary>
internal sealed class SluiceOptionsValidator : IValidateOptions<SluiceOptions>
{
    public ValidateOptionsResult Validate(string? name, SluiceOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            errors.Add("Sluice:DataDir must name a directory (--data-dir).");
        }
        PlanCatalog.Compile(options.Plans, errors, options.Prices);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
