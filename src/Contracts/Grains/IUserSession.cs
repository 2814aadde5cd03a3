namespace Realtime.Contracts.Grains;

/// <summary>One of a user's sockets on this node, seen from the user grain. Calls must not block.</summary>
public interface IUserSession
{
    string Client { get; }

    void Push(byte[] frame);

    /// <summary>Ask the socket to close with <paramref name="closeCode"/> (e.g. when the app backend disconnects the user).</summary>
    void Close(int closeCode, string reason);
}
