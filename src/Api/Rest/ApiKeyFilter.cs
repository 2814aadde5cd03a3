using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

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
/// through timing.
/// </summary>
internal sealed class ApiKeyFilter(IOptions<ApiOptions> options) : IEndpointFilter
{
    public const string Header = "X-Api-Key";
    private readonly byte[][] _digests = options.Value.Keys.Where(k => k.Length > 0).Select(Digest).ToArray();

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var presented = Digest(context.HttpContext.Request.Headers[Header].ToString());
        var known = false;
        foreach (var digest in _digests)
        {
            known |= CryptographicOperations.FixedTimeEquals(digest, presented);
        }

        return known
            ? await next(context)
            : TypedResults.Problem($"a valid {Header} header is required", statusCode: StatusCodes.Status401Unauthorized);
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
