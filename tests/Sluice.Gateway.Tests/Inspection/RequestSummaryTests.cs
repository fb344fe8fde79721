using System.Text;
using System.Text.Json;
using Sluice.Gateway.Inspection;

namespace Sluice.Gateway.Tests.Inspection;

public sealed class RequestSummaryTests
{
    [Fact]
    public void Parse_TakesTopLevelModelAndStream_IgnoringNestedOnes()
    {
        var json = """{"messages":[{"role":"user","content":"hi","model":"nested"}],"model":"gpt-4o-mini","stream":true,"metadata":{"stream":false}}""";
        var summary = RequestSummary.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal("gpt-4o-mini", summary.Model);
        Assert.True(summary.Stream);
    }

    [Theory]
    [InlineData("{\"model\":")]
    [InlineData("[1,2]")]
    [InlineData("{\"model\":\"a\"} trailing")]
    [InlineData("not json")]
    public void Parse_NotAJsonObject_Throws(string body)
    {
        Assert.ThrowsAny<JsonException>(() => RequestSummary.Parse(Encoding.UTF8.GetBytes(body)));
    }
}
