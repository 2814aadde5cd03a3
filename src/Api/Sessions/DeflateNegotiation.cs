using System.Net.WebSockets;

namespace Realtime.Api.Sessions;

/// <summary>
/// Answers a client's <c>Sec-WebSocket-Extensions</c> offers for the sockets <see cref="DirectUpgrade"/> opens
/// (RFC 7692 §7): the first permessage-deflate offer the server can accept wins, and the answer names what both
/// sides will do. The compression itself is .NET's (<see cref="WebSocketDeflateOptions"/>); ASP.NET Core's own
/// negotiation is internal to its WebSocket middleware, so the path that goes around it needs this.
/// </summary>
internal static class DeflateNegotiation
{
    private const string Name = "permessage-deflate";

    /// <summary>The options and the response header for the first acceptable offer, or false to go uncompressed.</summary>
    public static bool TryAccept(string header, CompressionOptions options, out WebSocketDeflateOptions? deflate, out string? response)
    {
        foreach (var offer in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryRead(offer, out var asked) && TryAgree(asked, options, out deflate, out response))
            {
                return true;
            }
        }

        (deflate, response) = (null, null);
        return false;
    }

    private readonly record struct Offer(bool ServerNoContext, bool ClientNoContext, int? ServerBits, bool ClientBitsOffered, int? ClientBits);

    // An offer with an unknown or repeated parameter, or a value out of range, is declined (RFC 7692 §7.1).
    private static bool TryRead(string offer, out Offer read)
    {
        read = default;
        var parts = offer.Split(';', StringSplitOptions.TrimEntries);
        if (!string.Equals(parts[0], Name, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.AsSpan(1))
        {
            var equals = part.IndexOf('=');
            var name = (equals < 0 ? part : part[..equals]).Trim();
            var value = equals < 0 ? null : part[(equals + 1)..].Trim().Trim('"');
            if (!seen.Add(name))
            {
                return false;
            }

            switch (name.ToLowerInvariant())
            {
                case "server_no_context_takeover" when value is null:
                    read = read with { ServerNoContext = true };
                    break;
                case "client_no_context_takeover" when value is null:
                    read = read with { ClientNoContext = true };
                    break;
                case "server_max_window_bits" when WindowBits(value) is { } bits:
                    read = read with { ServerBits = bits };
                    break;
                case "client_max_window_bits" when value is null || WindowBits(value) is not null:
                    read = read with { ClientBitsOffered = true, ClientBits = WindowBits(value) };
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool TryAgree(Offer asked, CompressionOptions options, out WebSocketDeflateOptions? deflate, out string? response)
    {
        (deflate, response) = (null, null);
        var serverBits = Math.Min(options.ServerMaxWindowBits, asked.ServerBits ?? 15);
        if (serverBits < 9)
        {
            return false; // a window of 8 bits is one .NET's compressor does not produce
        }

        // The client may shrink its window only when it offered to; the decompressor copes with any window up to its own.
        var clientBits = asked.ClientBitsOffered ? Math.Min(options.ClientMaxWindowBits, asked.ClientBits ?? 15) : 15;
        var serverContext = options.ServerContextTakeover && !asked.ServerNoContext;
        var clientContext = options.ClientContextTakeover && !asked.ClientNoContext;
        deflate = new WebSocketDeflateOptions
        {
            ServerMaxWindowBits = serverBits,
            ServerContextTakeover = serverContext,
            ClientMaxWindowBits = Math.Max(9, clientBits),
            ClientContextTakeover = clientContext,
        };
        response = Name
            + (serverContext ? "" : "; server_no_context_takeover")
            + (clientContext ? "" : "; client_no_context_takeover")
            + (asked.ServerBits is not null || serverBits < 15 ? $"; server_max_window_bits={serverBits}" : "")
            + (asked.ClientBitsOffered && clientBits < 15 ? $"; client_max_window_bits={clientBits}" : "");
        return true;
    }

    private static int? WindowBits(string? value) =>
        value is { Length: 1 or 2 } && int.TryParse(value, System.Globalization.NumberStyles.None, null, out var bits) && bits is >= 8 and <= 15 ? bits : null;
}
