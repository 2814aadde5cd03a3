using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Realtime.Contracts.Rest;

namespace Realtime.Api.Rest;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(PublishResponse))]
[JsonSerializable(typeof(BroadcastRequest))]
[JsonSerializable(typeof(BroadcastResponse))]
[JsonSerializable(typeof(HistoryResponse))]
[JsonSerializable(typeof(PresenceResponse))]
[JsonSerializable(typeof(NotifyRequest))]
[JsonSerializable(typeof(NotifyResponse))]
[JsonSerializable(typeof(NotifyManyRequest))]
[JsonSerializable(typeof(NotifyManyResponse))]
[JsonSerializable(typeof(DirectRequest))]
[JsonSerializable(typeof(NotificationsResponse))]
[JsonSerializable(typeof(MarkReadRequest))]
[JsonSerializable(typeof(MarkReadResponse))]
[JsonSerializable(typeof(DisconnectRequest))]
[JsonSerializable(typeof(InfoResponse))]
[JsonSerializable(typeof(DevTokenRequest))]
[JsonSerializable(typeof(DevTokenResponse))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
internal sealed partial class RealtimeJsonContext : JsonSerializerContext;
