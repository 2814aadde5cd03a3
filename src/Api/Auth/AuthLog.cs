using Microsoft.Extensions.Logging;

namespace Realtime.Api.Auth;

internal static partial class AuthLog
{
    [LoggerMessage(500, LogLevel.Warning, "Could not check a client token: {Problem}")]
    public static partial void ValidationFailed(ILogger logger, Exception exception, string problem);
}
