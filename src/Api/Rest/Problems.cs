using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;
using Realtime.Grains.Stores;

namespace Realtime.Api.Rest;

/// <summary>Maps protocol error codes to RFC 7807 problem details with the matching HTTP status.</summary>
internal static class Problems
{
    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.BadRequest => StatusCodes.Status400BadRequest,
        ErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static ProblemHttpResult From(RealtimeException e) => Of(e.Code, e.Message);

    /// <summary>Problem details with the HTTP status of <paramref name="code"/> and the code itself as a <c>code</c> member.</summary>
    public static ProblemHttpResult Of(string code, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusOf(code), extensions: new Dictionary<string, object?> { ["code"] = code });

    public static ProblemHttpResult BadRequest(string detail) => Of(ErrorCodes.BadRequest, detail);

    /// <summary>Turns a <see cref="RealtimeException"/> thrown by a grain into its problem details.</summary>
    public sealed class Filter : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            try
            {
                return await next(context);
            }
            catch (Exception e) when (RealtimeException.FindIn(e) is { } known)
            {
                return From(known);
            }
            catch (Exception e) when (e is EngineUnavailableException || Feeds.ClusterErrors.IsUnavailable(e))
            {
                return Of(ErrorCodes.Unavailable, "the service is unavailable, try again");
            }
        }
    }
}
