using Sluice.Gateway.Admission;

namespace Sluice.Gateway.Tests.Admission;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(20, "20ms")]
    [InlineData(999, "999ms")]
    [InlineData(1_000, "1s")]
    [InlineData(1_500, "1.5s")]
    [InlineData(1_234, "1.234s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(86_398_000, "23h59m58s")]
    [InlineData(86_400_000, "24h0m0s")]
    [InlineData(3_600_500, "1h0m0.5s")]
    public void Format_MatchesGoDurationString(long milliseconds, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(milliseconds));
    }
}
