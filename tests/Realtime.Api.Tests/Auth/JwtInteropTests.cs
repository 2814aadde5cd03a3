using System.Diagnostics;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Auth;

/// <summary>Tokens minted by an independent implementation (PyJWT, Debian's python3-jwt) must work.</summary>
public sealed class JwtInteropTests
{
    [Fact]
    public async Task A_token_minted_by_pyjwt_is_accepted_and_one_signed_with_another_key_is_refused()
    {
        await using var server = await RealtimeServer.StartAsync();
        var good = MintWithPyJwt(RealtimeServer.Secret, "pyuser", ["team:7"]);
        var forged = MintWithPyJwt("some-other-secret-0123456789-0123456789", "pyuser", []);

        await using var client = await TestClient.ConnectAsync(server, token: null);
        var connected = await client.CallAsync(new { type = "connect", token = good });
        Assert.Equal("pyuser", connected.GetProperty("user").GetString());

        await using var refused = await TestClient.ConnectAsync(server, forged);
        Assert.Equal(4001, (int?)await refused.WaitClosedAsync());
    }

    private static string MintWithPyJwt(string secret, string user, string[] channels)
    {
        // Debian's python3-jwt is seen by /usr/bin/python3; ./test.sh installs it.
        const string script = "import jwt,sys,time,json; print(jwt.encode({'sub':sys.argv[2],'exp':int(time.time())+3600,'channels':json.loads(sys.argv[3])}, sys.argv[1], algorithm='HS256'))";
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-c", script, secret, user, System.Text.Json.JsonSerializer.Serialize(channels) })
        {
            start.ArgumentList.Add(arg);
        }

        using var python = Process.Start(start)!;
        var token = python.StandardOutput.ReadToEnd().Trim();
        var errors = python.StandardError.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, $"PyJWT failed (is python3-jwt installed? ./test.sh installs it): {errors}");
        return token;
    }
}
