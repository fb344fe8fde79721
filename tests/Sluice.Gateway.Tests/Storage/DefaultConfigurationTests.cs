using Microsoft.Extensions.Configuration;
using Sluice.Core.Models;
using Sluice.Core.Plans;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Tests.Storage;

/// <summary>The shipped JSON of the public free service is exactly the built-in default plan.</summary>
public sealed class DefaultConfigurationTests
{
    [Fact]
    public void FreeServiceJson_CompilesToTheBuiltInDefaultPlan()
    {
        var path = Path.Combine(TestRepository.Root, "docs", "configuration", "free-service.json");
        var options = new SluiceOptions();
        new ConfigurationBuilder().AddJsonFile(path).Build().GetSection("Sluice").Bind(options);

        var fromJson = PlanCatalog.Compile(options.Plans, new List<string>())!.Find("free")!;
        var builtIn = PlanCatalog.Compile(PlanCatalog.Defaults(), new List<string>())!.Find("free")!;

        Assert.Equal(Describe(builtIn), Describe(fromJson));
        Assert.Equal("gpt-4o", fromJson.RulesFor("gpt-4o-2024-08-06", ModelFamily.Chat).Cap!.Name);
        Assert.Equal("mini", fromJson.RulesFor("gpt-4o-mini", ModelFamily.Chat).Cap!.Name);
        Assert.Equal("deepseek", fromJson.RulesFor("deepseek-chat", ModelFamily.Chat).Cap!.Name);
        Assert.Equal("embeddings", fromJson.RulesFor("text-embedding-3-small", ModelFamily.Embeddings).Cap!.Name);
        Assert.Null(fromJson.RulesFor("text-embedding-3-small", ModelFamily.Chat).Cap);
        Assert.False(fromJson.RulesFor("claude-3-opus", ModelFamily.Chat).Allowed);
    }

    private static string Describe(Plan plan) => string.Join("\n",
        plan.Policies.Concat(plan.Caps).Select(p => $"{p.Name} {p.Subject} {p.Kind} {p.Limit} {p.Window} {p.CalendarZone?.Id} {p.Description}")
            .Append($"allowed {string.Join(",", plan.AllowedModels)}")
            .Append($"prompt {plan.MaxPromptTokens} billing {plan.Billing} zone {plan.DayZone?.Id}"));
}
