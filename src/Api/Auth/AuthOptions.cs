using System.ComponentModel.DataAnnotations;

namespace Realtime.Api.Auth;

/// <summary>Token settings, bound from <c>Realtime:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Realtime:Auth";

    /// <summary>The HS256 key that signs client tokens; at least 32 characters.</summary>
    [Required(ErrorMessage = "is required (at least 32 characters); set it in configuration or as Realtime__Auth__JwtSecret")]
    [MinLength(32, ErrorMessage = "must be at least 32 characters")]
    public string JwtSecret { get; set; } = "";

    /// <summary>Serves <c>POST /dev/token</c>, which mints a token for any user. Never in production.</summary>
    public bool DevTokens { get; set; }

    /// <summary>How long a dev token lives.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan DevTokenLifetime { get; set; } = TimeSpan.FromHours(1);
}
