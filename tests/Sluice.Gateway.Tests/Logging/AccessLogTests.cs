using System.Buffers;
using System.Globalization;
using System.Text;
using Sluice.Gateway.Logging;

namespace Sluice.Gateway.Tests.Logging;

public sealed class AccessLogTests
{
    /// <summary>The access log's latency reads as the format <c>0.##</c> writes it: two decimals at most, no trailing
    /// zeros, halves rounded away from zero.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.004)]
    [InlineData(0.005)]
    [InlineData(0.1)]
    [InlineData(0.25)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(3.14159)]
    [InlineData(9.999)]
    [InlineData(12.07)]
    [InlineData(1234.5678)]
    [InlineData(86_400_000.01)]
    public void Milliseconds_AreWrittenAsTheFormat0HashHashWrites(double milliseconds)
    {
        var buffer = new ArrayBufferWriter<byte>();

        AccessLog.AppendMilliseconds(buffer, milliseconds);

        Assert.Equal(milliseconds.ToString("0.##", CultureInfo.InvariantCulture), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
