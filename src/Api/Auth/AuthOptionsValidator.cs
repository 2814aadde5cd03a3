using Microsoft.Extensions.Options;

namespace Realtime.Api.Auth;

/// <summary>
/// The checks on <c>Realtime:Auth</c> that span settings or need parsing, run at start-up so a node with
/// no usable key, a broken PEM or a bad authority URL does not start; each failure names its key.
/// </summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    // 256 bits of key for HS256 (RFC 7518 3.2), counting one byte a character.
    private const int MinSecretLength = 32;

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (options.JwtSecret.Length == 0 && options.PublicKey.Length == 0 && options.Authority.Length == 0)
        {
            failures.Add($"{AuthOptions.Section}:JwtSecret: is required (at least 32 characters) unless {AuthOptions.Section}:PublicKey or " +
                $"{AuthOptions.Section}:Authority is set; set it in configuration or as Realtime__Auth__JwtSecret");
        }

        if (options.JwtSecret.Length is > 0 and < MinSecretLength)
        {
            failures.Add($"{AuthOptions.Section}:JwtSecret: must be at least {MinSecretLength} characters");
        }

        if (options.DevTokens && options.JwtSecret.Length == 0)
        {
            failures.Add($"{AuthOptions.Section}:JwtSecret: is required while {AuthOptions.Section}:DevTokens is true (dev tokens are signed with it)");
        }

        if (options.PublicKey.Length > 0)
        {
            try
            {
                PemKey.Read(options.PublicKey);
            }
            catch (FormatException e)
            {
                failures.Add($"{AuthOptions.Section}:PublicKey: {e.Message}");
            }
        }

        if (options.Authority.Length > 0)
        {
            if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
            {
                failures.Add($"{AuthOptions.Section}:Authority: must be an absolute https URL (the issuer, without /.well-known/…)");
            }
            else if (authority.Scheme == "http" && options.RequireHttpsMetadata)
            {
                failures.Add($"{AuthOptions.Section}:Authority: must use https; set {AuthOptions.Section}:RequireHttpsMetadata to false only for a test authority");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
