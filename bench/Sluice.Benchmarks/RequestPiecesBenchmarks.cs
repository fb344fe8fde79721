using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Clients;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Core.Plans;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Inspection;
using Sluice.Gateway.Logging;

namespace Sluice.Benchmarks;

/// <summary>The other per-request pieces of the gateway that can be measured alone.</summary>
[MemoryDiagnoser]
public class RequestPiecesBenchmarks
{
    private static readonly byte[] ChatBody = Encoding.UTF8.GetBytes("""
        {"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about rivers and locks, then explain it in two sentences."}],"temperature":0.7,"max_tokens":256,"stream":false}
        """);

    private readonly IPAddress _ipv4 = IPAddress.Parse("203.0.113.7");
    private readonly IPAddress _ipv6 = IPAddress.Parse("2001:db8:85a3:8d3:1319:8a2e:370:7348");
    private readonly HeaderDictionary _headers = new();
    private string _secret = null!;
    private string _keyId = null!;
    private KeyDirectory _directory = null!;
    private KeyHash _hash;
    private Plan _plan = null!;
    private AdmissionResult _admission = null!;
    private DefaultHttpContext _request = null!;
    private RequestSizeMiddleware _sizeCheck = null!;
    private RequestBodyMiddleware _bodyStep = null!;
    private DefaultHttpContext _bodyRequest = null!;
    private MemoryStream _body = null!;
    private readonly System.Buffers.ArrayBufferWriter<byte> _logLine = new(512);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _secret = Subjects.KeySecret(random);
        _keyId = Subjects.KeyId(random);
        _hash = KeyHash.Of(_secret);
        _directory = new KeyDirectory();
        var keys = new List<ApiKey>();
        for (var i = 0; i < 10_000; i++)
        {
            var secret = i == 0 ? _secret : Subjects.KeySecret(random);
            keys.Add(new ApiKey
            {
                Id = i == 0 ? _keyId : Subjects.KeyId(random),
                Name = "bench",
                Plan = PlanCatalog.DefaultPlan,
                Hash = KeyHash.Of(secret),
                Display = ApiKeySecret.Display(secret),
                Created = SteppingClock.Start,
                Version = i + 1,
            });
        }
        _directory.Apply(keys);
        _plan = Subjects.DefaultPlan();
        var limiter = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.FromSeconds(1)));
        var checks = _plan.ChecksFor(_keyId, Subjects.Ipv4Group(1));
        for (var i = 0; i < 20; i++)
        {
            _admission = limiter.TryAdmit(checks);
        }
        // The headers the official OpenAI Python SDK sends with a chat completion.
        _request = new DefaultHttpContext();
        _request.Request.Method = "POST";
        _request.Request.Path = "/v1/chat/completions";
        foreach (var (name, value) in new[]
        {
            ("Host", "127.0.0.1:8080"), ("Accept-Encoding", "gzip, deflate"), ("Connection", "keep-alive"), ("Accept", "application/json"),
            ("Content-Type", "application/json"), ("User-Agent", "OpenAI/Python 1.54.4"), ("X-Stainless-Lang", "python"),
            ("X-Stainless-Package-Version", "1.54.4"), ("X-Stainless-OS", "Linux"), ("X-Stainless-Arch", "x64"),
            ("X-Stainless-Runtime", "CPython"), ("X-Stainless-Runtime-Version", "3.12.7"), ("Authorization", "Bearer " + _secret),
            ("X-Stainless-Async", "false"), ("x-stainless-retry-count", "0"), ("Content-Length", "250"),
        })
        {
            _request.Request.Headers[name] = value;
        }
        _sizeCheck = new RequestSizeMiddleware(_ => Task.CompletedTask);
        _bodyStep = new RequestBodyMiddleware(_ => Task.CompletedTask, Microsoft.Extensions.Options.Options.Create(new RelayOptions()));
        _bodyRequest = new DefaultHttpContext();
        _bodyRequest.Request.Method = "POST";
        _bodyRequest.Request.Path = "/v1/chat/completions";
        _bodyRequest.Request.ContentType = "application/json";
        _bodyRequest.Request.ContentLength = ChatBody.Length;
        _bodyRequest.Features.Set(new SluiceRequestFeature());
        _body = new MemoryStream(ChatBody, writable: false);
    }

    /// <summary>SHA-256 of a presented 51-character key (authentication, every request).</summary>
    [Benchmark]
    public KeyHash KeyHashOf() => KeyHash.Of(_secret);

    /// <summary>One access-log line as the gateway writes it (text format), into a reused buffer.</summary>
    [Benchmark]
    public int AccessLogLine()
    {
        _logLine.ResetWrittenCount();
        AccessLog.FormatText(_logLine, new AccessLogEntry(
            SteppingClock.Start, "POST", "/v1/chat/completions", 200, 3.42, _keyId, "203.0.113.7", "gpt-4o-mini", "req_QroyKR4pGVX300000000004"));
        return _logLine.WrittenCount;
    }

    /// <summary>Finding the key by its hash among 10,000 (authentication, every request).</summary>
    [Benchmark]
    public ApiKey? KeyDirectoryFind() => _directory.Find(_hash);

    /// <summary>The client's group from its IPv4 address (every request).</summary>
    [Benchmark]
    public ClientAddress ClientAddressFromIpv4() => ClientAddress.From(_ipv4);

    /// <summary>The client's /64 group from an IPv6 address.</summary>
    [Benchmark]
    public ClientAddress ClientAddressFromIpv6() => ClientAddress.From(_ipv6);

    /// <summary>Reading model and stream from a typical chat completion body (about 250 bytes).</summary>
    [Benchmark]
    public string? RequestSummaryParse() => RequestSummary.Parse(ChatBody).Model;

    /// <summary>The checks of a request (key and IP counters) for the default plan.</summary>
    [Benchmark]
    public LimitCheck[] PlanChecksFor() => _plan.ChecksFor(_keyId, Subjects.Ipv4Group(1));

    /// <summary>The request-line and header size check every request passes (16 headers, as an OpenAI SDK sends them).</summary>
    [Benchmark]
    public Task RequestSizeCheck() => _sizeCheck.InvokeAsync(_request);

    /// <summary>The body step of a chat completion: read into a pooled buffer, parsed, noted, handed on, given back.</summary>
    [Benchmark]
    public Task RequestBodyInspect()
    {
        _body.Position = 0;
        _bodyRequest.Request.Body = _body;
        return _bodyStep.InvokeAsync(_bodyRequest);
    }

    /// <summary>The five rate-limit headers of an admitted answer, set into a header dictionary.</summary>
    [Benchmark]
    public IHeaderDictionary RateLimitHeadersApply()
    {
        RateLimitHeaders.Apply(_headers, _admission);
        return _headers;
    }
}
