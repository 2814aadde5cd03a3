using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>One log entry as the server wrote it, exception included.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>Everything a log sink could print: the message and the whole exception chain with its stack.</summary>
    public string FullText => Exception is null ? Message : $"{Message}\n{Exception}";

    public override string ToString() => $"{Level} {Category}[{EventId}] {FullText}";
}

/// <summary>
/// Keeps every log entry of an in-process server, at whatever level the configuration lets through.
/// Register it with <c>RealtimeServer.StartAsync(services: s => s.AddSingleton&lt;ILoggerProvider&gt;(capture))</c>.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyCollection<CapturedLog> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // Structured values too: a sink that writes them as fields would leak them just the same.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            owner._entries.Enqueue(new CapturedLog(category, logLevel, eventId, $"{formatter(state, exception)} {values}", exception));
        }
    }
}
