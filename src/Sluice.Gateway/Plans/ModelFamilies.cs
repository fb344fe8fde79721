using Microsoft.AspNetCore.Http;
using Sluice.Core.Models;

namespace Sluice.Gateway.Plans;

/// <summary>Which kind of call a path is; model caps count each kind separately.</summary>
public static class ModelFamilies
{
    public static ModelFamily Of(PathString path)
    {
        if (path.StartsWithSegments("/v1/chat/completions", StringComparison.Ordinal)
            || path.StartsWithSegments("/v1/completions", StringComparison.Ordinal)
            || path.StartsWithSegments("/v1/responses", StringComparison.Ordinal))
        {
            return ModelFamily.Chat;
        }
        if (path.StartsWithSegments("/v1/embeddings", StringComparison.Ordinal))
        {
            return ModelFamily.Embeddings;
        }
        if (path.StartsWithSegments("/v1/images", StringComparison.Ordinal))
        {
            return ModelFamily.Images;
        }
        return path.StartsWithSegments("/v1/audio", StringComparison.Ordinal) ? ModelFamily.Audio : ModelFamily.Other;
    }
}
