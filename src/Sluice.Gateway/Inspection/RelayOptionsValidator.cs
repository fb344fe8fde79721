using Microsoft.Extensions.Options;

namespace Sluice.Gateway.Inspection;

internal sealed class RelayOptionsValidator : IValidateOptions<RelayOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayOptions options)
    {
        var errors = new List<string>();
        if (options.MaxRequestBodyBytes <= 0)
        {
            errors.Add($"{RelayOptions.Section}:MaxRequestBodyBytes must be positive.");
        }
        foreach (var entry in options.Endpoints ?? [])
        {
            if (RelayEndpoints.Problem(entry) is { } problem)
            {
                errors.Add(problem);
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
