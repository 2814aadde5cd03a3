using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;
using Xunit.Abstractions;
using Realtime.Api.Feeds;
using Realtime.Api.Sessions;
using Realtime.Contracts.Streams;

namespace Realtime.Api.Tests.Sessions;

/// <summary>Close code 1011: what a client sees when its session fails in a way nothing else handles.</summary>
public sealed class InternalErrorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_session_that_fails_unexpectedly_while_attaching_its_user_is_closed_with_1011_without_details_and_others_are_served()
    {
        // Attaching mallory's socket to her user throws a bug-like exception. Attaching a query-token socket runs
        // outside any command, so nothing turns the failure into an error reply: the session ends, and its
        // fallback close is 1011.
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(services: services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.Replace(ServiceDescriptor.Singleton<IUserSessions>(sp => new FailingFor("mallory", ActivatorUtilities.CreateInstance<UserSessions>(sp))));
        });

        await using var mallory = await server.ConnectAsync("mallory");

        Assert.Equal(WebSocketCloseStatus.InternalServerError, await mallory.WaitClosedAsync());
        var reason = mallory.Socket.CloseStatusDescription ?? "";
        Assert.DoesNotContain(FailingEngine.Secret, reason, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(mallory.Frames, f => f.GetRawText().Contains(FailingEngine.Secret, StringComparison.Ordinal));

        // The operator gets the details, from the session with the client they hit, and the failure
        // ends there, not in Kestrel's "unhandled exception"; another client on the node is served as before.
        Assert.Equal("internal error", reason);
        var errors = logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();
        output.WriteLine(string.Join("\n", errors));
        var failed = Assert.Single(errors, e => e.EventId.Id == 209);
        Assert.Contains(FailingEngine.Secret, failed.FullText, StringComparison.Ordinal);
        Assert.DoesNotContain(errors, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        await Witness.AssertNodeServesOthersAsync(server);
    }

    private sealed class FailingFor(string user, IUserSessions inner) : IUserSessions
    {
        public int Count => inner.Count;

        public bool TryAttach(string name, Session session) => name == user
            ? throw new InvalidOperationException($"{FailingEngine.Secret}: the connection string was Password=hunter2")
            : inner.TryAttach(name, session);

        public void Detach(string name, Session session) => inner.Detach(name, session);

        public void OnEvent(RealtimeEvent userEvent) => inner.OnEvent(userEvent);
    }
}
