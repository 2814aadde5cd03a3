using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Rest;

/// <summary>Server-to-server keys, bound from <c>Realtime:Api:Keys</c>.</summary>
public sealed class ApiOptions
{
    public const string Section = "Realtime:Api";

    public List<string> Keys { get; } = [];
}

/// <summary>
/// Lets a request through only with a known <c>X-Api-Key</c>. Keys are compared as SHA-256 digests
/// with <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither content nor length leaks
/// through timing. The check runs as middleware on endpoints marked <see cref="Required"/>, before the
/// body is bound: a caller without the key gets 401 whatever it sent, and its body is never parsed.
/// As an endpoint filter it checks again, so an API mapped without that middleware is never open.
/// </summary>
internal sealed class ApiKeyFilter(IOptions<ApiOptions> options) : IEndpointFilter
{
    public const string Header = "X-Api-Key";
    private readonly byte[][] _digests = options.Value.Keys.Where(k => k.Length > 0).Select(Digest).ToArray();

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Allows(context.HttpContext.Request) ? await next(context) : Refusal();

    /// <summary>Checks the key of requests to endpoints marked <see cref="Required"/>.</summary>
    public static Task CheckAsync(HttpContext context, RequestDelegate next) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Required>() is null
        || context.RequestServices.GetRequiredService<ApiKeyFilter>().Allows(context.Request)
            ? next(context)
            : Refusal().ExecuteAsync(context);

    public bool Allows(HttpRequest request)
    {
        var presented = Digest(request.Headers[Header].ToString());
        var known = false;
        foreach (var digest in _digests)
        {
            known |= CryptographicOperations.FixedTimeEquals(digest, presented);
        }

        return known;
    }

    private static ProblemHttpResult Refusal() => Problems.Of(ErrorCodes.Unauthorized, $"a valid {Header} header is required");

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Endpoint metadata: the endpoint needs the API key.</summary>
    public sealed class Required;
}
