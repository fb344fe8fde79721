using System.CommandLine;

namespace Sluice.FakeUpstream;

/// <summary><c>Sluice.FakeUpstream [--port N] [--latency-ms N] [--chunk-delay-ms N] [--reply-words N] [--api-key KEY]
/// [--no-record] [--quiet] [--https [--certificate-out FILE]]</c>: runs the fake on 127.0.0.1 until Ctrl-C or SIGTERM.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0: a free port).", DefaultValueFactory = _ => 0 };
        var latency = new Option<int>("--latency-ms") { Description = "Delay before response headers, in ms." };
        var chunkDelay = new Option<int>("--chunk-delay-ms") { Description = "Delay between stream chunks, in ms." };
        var replyWords = new Option<int>("--reply-words") { Description = "Words (= completion tokens) in a reply.", DefaultValueFactory = _ => 8 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer <key>'; else OpenAI's 401." };
        var noRecord = new Option<bool>("--no-record") { Description = "Do not keep request headers and bodies (for load tests)." };
        var quiet = new Option<bool>("--quiet") { Description = "No line per request on stdout." };
        var https = new Option<bool>("--https") { Description = "Serve HTTPS (HTTP/1.1 and HTTP/2) with a self-signed certificate made at start." };
        var certificateOut = new Option<FileInfo?>("--certificate-out") { Description = "With --https: write the certificate (PEM) here, for a client to trust." };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError("--port must be 0-65535.");
            }
        });
        foreach (var option in new[] { latency, chunkDelay, replyWords })
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 0)
                {
                    result.AddError($"{option.Name} must not be negative.");
                }
            });
        }

        var root = new RootCommand("A fake OpenAI-compatible upstream for Sluice's tests, demos and load tests.")
        {
            port, latency, chunkDelay, replyWords, apiKey, noRecord, quiet, https, certificateOut,
        };
        root.Validators.Add(result =>
        {
            if (result.GetValue(certificateOut) is not null && !result.GetValue(https))
            {
                result.AddError("--certificate-out needs --https.");
            }
        });
        root.SetAction(async (result, cancellationToken) =>
        {
            var options = new FakeUpstreamOptions
            {
                Port = result.GetValue(port),
                Latency = TimeSpan.FromMilliseconds(result.GetValue(latency)),
                ChunkDelay = TimeSpan.FromMilliseconds(result.GetValue(chunkDelay)),
                ReplyWords = result.GetValue(replyWords),
                ExpectedApiKey = result.GetValue(apiKey),
                RecordRequests = !result.GetValue(noRecord),
                Quiet = result.GetValue(quiet),
                Https = result.GetValue(https),
            };
            await using var server = await FakeUpstreamServer.StartAsync(options, cancellationToken);
            if (result.GetValue(certificateOut) is { } file && server.CertificatePem is { } pem)
            {
                await File.WriteAllTextAsync(file.FullName, pem, cancellationToken);
                await Console.Out.WriteLineAsync($"certificate written to {file.FullName}");
            }
            await Console.Out.WriteLineAsync($"fake upstream listening on {server.BaseUrl}");
            await Console.Out.FlushAsync(cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM.
            }
            return 0;
        });
        // System.CommandLine 2.0.0 leaves ProcessTerminationTimeout null (dotnet/command-line-api#2739), so without this
        // the action's token never sees Ctrl-C or SIGTERM and the server is not stopped cleanly.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(5) });
    }
}
