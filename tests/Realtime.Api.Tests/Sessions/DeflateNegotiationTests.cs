using Realtime.Api.Sessions;

namespace Realtime.Api.Tests.Sessions;

/// <summary>How the direct upgrade path answers permessage-deflate offers (RFC 7692 §7).</summary>
public sealed class DeflateNegotiationTests
{
    private static readonly CompressionOptions Defaults = new() { Enabled = true };

    [Theory]
    // What browsers and Node's ws send: the server picks, and asks the client to keep no context either.
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    // .NET's ClientWebSocket with its defaults.
    [InlineData("permessage-deflate; client_max_window_bits=15; server_max_window_bits=15",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15")]
    // A client that asks for small windows gets them; quoted values are values.
    [InlineData("permessage-deflate; server_max_window_bits=\"10\"; client_max_window_bits=9",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9")]
    // An offer the server cannot take is skipped for the next one: 8 bits, an unknown parameter, a repeated one.
    [InlineData("permessage-deflate; server_max_window_bits=8, permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    [InlineData("permessage-deflate; mystery, permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    [InlineData("x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover; client_no_context_takeover, permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    public void The_first_acceptable_offer_is_answered(string offers, string expected)
    {
        Assert.True(DeflateNegotiation.TryAccept(offers, Defaults, out var deflate, out var response));
        Assert.Equal(expected, response);
        Assert.False(deflate!.ServerContextTakeover);
        Assert.False(deflate.ClientContextTakeover);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x-webkit-deflate-frame")]
    [InlineData("permessage-deflate; server_max_window_bits")]      // the value is required
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; client_max_window_bits=7")]
    [InlineData("permessage-deflate; server_no_context_takeover=1")] // takes no value
    public void Nothing_acceptable_means_no_compression(string offers) =>
        Assert.False(DeflateNegotiation.TryAccept(offers, Defaults, out _, out _));

    [Fact]
    public void Context_takeover_and_windows_follow_the_settings_unless_the_client_declines()
    {
        var keep = new CompressionOptions { Enabled = true, ServerContextTakeover = true, ClientContextTakeover = true, ServerMaxWindowBits = 12, ClientMaxWindowBits = 11 };

        Assert.True(DeflateNegotiation.TryAccept("permessage-deflate; client_max_window_bits", keep, out var deflate, out var response));
        Assert.Equal("permessage-deflate; server_max_window_bits=12; client_max_window_bits=11", response);
        Assert.Equal((true, true, 12, 11), (deflate!.ServerContextTakeover, deflate.ClientContextTakeover, deflate.ServerMaxWindowBits, deflate.ClientMaxWindowBits));

        // Without client_max_window_bits in the offer the client's window may not be named (§7.1.2.2).
        Assert.True(DeflateNegotiation.TryAccept("permessage-deflate; server_no_context_takeover", keep, out deflate, out response));
        Assert.Equal("permessage-deflate; server_no_context_takeover; server_max_window_bits=12", response);
        Assert.Equal((false, 15), (deflate!.ServerContextTakeover, deflate.ClientMaxWindowBits));
    }
}
