using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Bench.Shared;

/// <summary>
/// HS256 client tokens, signed with the node's <c>Realtime:Auth:JwtSecret</c> by IdentityModel's handler, the one
/// the node validates with. One file, compiled into each bench tool that needs it (ClusterProbe, LoadGen, SoakDriver).
/// </summary>
internal static class Token
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static string Sign(string secret, string user, TimeSpan lifetime) => Handler.CreateToken(new SecurityTokenDescriptor
    {
        Claims = new Dictionary<string, object> { ["sub"] = user },
        Expires = DateTime.UtcNow + lifetime,
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
    });
}
