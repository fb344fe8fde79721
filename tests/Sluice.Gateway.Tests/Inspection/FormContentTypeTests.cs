using Sluice.Gateway.Inspection;

namespace Sluice.Gateway.Tests.Inspection;

/// <summary>Only form uploads stream through unread; every other body is read as JSON, whatever it claims to be.</summary>
public sealed class FormContentTypeTests
{
    [Theory]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("Multipart/Form-Data;boundary=x")]
    [InlineData("  multipart/form-data")]
    [InlineData("application/x-www-form-urlencoded")]
    public void Form_uploads_stream_through(string contentType) => Assert.True(RequestBodyMiddleware.IsForm(contentType));

    [Theory]
    [InlineData("")]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("text/plain")]
    [InlineData("application/vnd.api+json")]
    [InlineData("application/octet-stream")]
    public void Other_bodies_are_read_as_json(string contentType) => Assert.False(RequestBodyMiddleware.IsForm(contentType));
}
