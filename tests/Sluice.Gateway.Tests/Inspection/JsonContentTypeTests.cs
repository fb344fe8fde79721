using Sluice.Gateway.Inspection;

namespace Sluice.Gateway.Tests.Inspection;

public sealed class JsonContentTypeTests
{
    [Theory]
    [InlineData("application/json")]
    [InlineData("Application/JSON")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;charset=UTF-8")]
    [InlineData("  application/json ; charset=utf-8")]
    [InlineData("application/json ")]
    public void Json_bodies_are_read(string contentType) => Assert.True(RequestBodyMiddleware.IsJson(contentType));

    [Theory]
    [InlineData("")]
    [InlineData("text/plain")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/jsonl")]
    [InlineData("application/json-patch+json")]
    [InlineData("application/x-www-form-urlencoded")]
    public void Other_bodies_stream_through(string contentType) => Assert.False(RequestBodyMiddleware.IsJson(contentType));
}
